"""HIL validation: each real device's measured trajectory against what the simulated
twin predicts for the same setpoints, with deviation metrics and a pass/fail verdict
against the scenario's tolerances (``hil.tolerances``).

Sign convention: positive = consumption / charging / import.

What is compared (series recorded by the run, one row per step ``t``):

- the prediction: the twin's own simulator of the device, driven by the same setpoints
  (``<id>.p_kw``, ``<id>.soc_percent``); for an EV charger, whose EV the twin does not
  simulate, the setpoint within what the plugged EV can take (``<id>.p_pred_kw``);
- the measurement: ``<id>.p_meas_kw`` and ``<id>.soc_meas_percent``, read by the bridge
  at the start of the step, so row ``t + 1`` holds what the device did during step
  ``t``: measurements are compared one step later (steps whose link was not fresh, and
  the first ``settle_s`` of the run, are left out).

A station's power is compared as the mean of each step from its energy meter (the
register it sends with its meter values), since a power sample misses when the EV fills
up mid-step. Metrics per device: RMSE and largest error of power [kW] and SoC [%], and the setpoint
tracking delay: after each setpoint change, the time until the measured power is within
``p_band_kw`` of the prediction [simulated s] (a change never reached counts as the time
until the next change, and is listed). Functions here are pure: frames in, dicts out.

The tracking delay comes from the device's own samples when the run kept them
(``hil/samples.csv``: a station's meter values, 4 per step in the loopback, and every
Modbus poll): from the moment the setpoint was sent (the step's time plus the run's lag
then) until the first sample whose power is within ``p_band_kw`` of the prediction, so
its resolution is the sample interval (listed as ``tracking_delay_resolution_s``), not
the step. Without samples it falls back to whole steps.

OpenADR compliance (:func:`openadr_compliance`): for each event interval with a site
import limit, the largest site import in its window and the energy imported above the
limit, ``sum(max(0, p_import - limit)) x step`` [kWh], from the recorded
``grid.p_import_kw``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

LAG_STEPS = 1  # measurements trail the setpoints by one step (read at the step's start)


def _series(ts: pd.DataFrame, column: str) -> np.ndarray | None:
    return ts[column].to_numpy(dtype=float) if column in ts.columns else None


def metered_power_kw(e_kwh: np.ndarray, step_s: float) -> np.ndarray:
    """Mean power of each step from an energy meter read at the steps' starts, in the row
    after the step (as the power readings): ``(e[t+1] - e[t]) / step``; NaN where the
    meter went back (a new session). [kW]"""
    out = np.full(len(e_kwh), np.nan)
    diff = np.diff(e_kwh) * 3600.0 / step_s
    out[1:] = np.where(diff >= -1e-9, diff, np.nan)
    return out


def _errors(pred: np.ndarray, meas: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """Measured (one step later) minus predicted, where both exist and the link was fresh
    (``fresh`` also marks the settling steps as not compared)."""
    err = meas[LAG_STEPS:] - pred[:-LAG_STEPS]
    ok = fresh[LAG_STEPS:] & np.isfinite(err)
    return err[ok]


def tracking_delays_s(setpoint: np.ndarray, target: np.ndarray, meas: np.ndarray,
                      step_s: float, band_kw: float) -> tuple[list[float], int]:
    """Delays from each setpoint change until the measured power is within ``band_kw`` of
    the target (the predicted power), and how many changes were never reached.

    Parameters
    ----------
    setpoint, target, meas : numpy.ndarray
        Setpoint sent, predicted power and measured power per step (the measurement of
        step ``t`` in row ``t + 1``). [kW]
    step_s : float
        Step length. [s]
    band_kw : float
        Tolerance band around the target. [kW]
    """
    n = len(setpoint)
    changes = [k for k in range(1, n) if np.isfinite(setpoint[k]) and np.isfinite(
        setpoint[k - 1]) and abs(setpoint[k] - setpoint[k - 1]) > band_kw]
    delays, missed = [], 0
    for i, k in enumerate(changes):
        end = changes[i + 1] if i + 1 < len(changes) else n
        reached = None
        for j in range(k, end):
            if j + LAG_STEPS < n and abs(meas[j + LAG_STEPS] - target[j]) <= band_kw:
                reached = j
                break
        if reached is None:
            if end < n:  # a change that the next one overtook before it was reached
                missed += 1
                delays.append((end - k) * step_s)
            continue
        delays.append((reached - k + LAG_STEPS) * step_s)
    return delays, missed


def sample_delays_s(change_t_s: np.ndarray, target_kw: np.ndarray, sample_t_s: np.ndarray,
                    sample_p_kw: np.ndarray, band_kw: float, end_t_s: float
                    ) -> tuple[list[float], int]:
    """Delays from each setpoint change until a sample's power first comes within
    ``band_kw`` of its target, and how many changes the next one overtook first.

    Parameters
    ----------
    change_t_s, target_kw : numpy.ndarray
        When each setpoint change was sent [simulated s] and the power expected for it
        [kW], in time order.
    sample_t_s, sample_p_kw : numpy.ndarray
        The device's samples: time [simulated s], measured power [kW], in time order.
    band_kw : float
        Tolerance band around the target. [kW]
    end_t_s : float
        End of the run: a last change not reached by then is not counted. [simulated s]
    """
    delays, missed = [], 0
    for i, (t0, target) in enumerate(zip(change_t_s, target_kw, strict=True)):
        t1 = change_t_s[i + 1] if i + 1 < len(change_t_s) else end_t_s
        inside = (sample_t_s >= t0) & (sample_t_s < t1) & (np.abs(sample_p_kw - target)
                                                           <= band_kw)
        if inside.any():
            delays.append(float(sample_t_s[np.argmax(inside)] - t0))
        elif i + 1 < len(change_t_s):
            missed += 1
            delays.append(float(t1 - t0))
    return delays, missed


def _change_steps(setpoint: np.ndarray, band_kw: float) -> list[int]:
    return [k for k in range(1, len(setpoint)) if np.isfinite(setpoint[k])
            and np.isfinite(setpoint[k - 1]) and abs(setpoint[k] - setpoint[k - 1]) > band_kw]


def _delay_metrics(ts: pd.DataFrame, req: np.ndarray, pred: np.ndarray, meas: np.ndarray,
                   samples: pd.DataFrame | None, step_s: float, settle: int, tol,
                   rt_factor: float) -> dict:
    """The tracking delay from the samples (else in whole steps), as metrics."""
    if samples is not None and len(samples):
        steps = [k for k in _change_steps(req, tol.p_band_kw) if k >= settle]
        lag = _series(ts, "clock.lag_s")  # the setpoint went out this late [wall s]
        lag = np.zeros(len(req)) if lag is None else np.nan_to_num(np.maximum(lag, 0.0))
        t_change = np.array([k * step_s for k in steps], float) + lag[steps] / rt_factor
        t = samples["t_s"].to_numpy(float)
        delays, missed = sample_delays_s(t_change, pred[steps], t, samples["p_kw"].to_numpy(
            float), tol.p_band_kw, len(req) * step_s)
        resolution = float(np.median(np.diff(t))) if len(t) > 1 else math.nan
        source = "samples"
    else:
        after = slice(settle, None)
        delays, missed = tracking_delays_s(req[after], pred[after], meas[after], step_s,
                                           tol.p_band_kw)
        resolution, source = step_s, "steps"
    return {"setpoint_changes": len(delays),
            "tracking_delay_s": float(np.max(delays)) if delays else 0.0,
            "tracking_delay_median_s": float(np.median(delays)) if delays else 0.0,
            "setpoints_not_reached": missed, "tracking_delay_from": source,
            "tracking_delay_resolution_s": resolution}


def device_metrics(ts: pd.DataFrame, asset_id: str, kind: str, step_s: float,
                   tol, samples: pd.DataFrame | None = None, rt_factor: float = 1.0) -> dict:
    """Metrics and verdict of one HIL device (``tol``: the scenario's ``Tolerances``;
    ``samples``: the device's rows of ``hil/samples.csv``, None if the run kept none;
    ``rt_factor``: wall seconds per simulated second, for the run's lag)."""
    meas = _series(ts, f"{asset_id}.p_meas_kw")
    e_meas = _series(ts, f"{asset_id}.e_meas_kwh")
    if kind == "ev_charger" and e_meas is not None and np.isfinite(e_meas).any():
        meas = metered_power_kw(e_meas, step_s)  # a step's mean, not a sample of it
    req = _series(ts, f"{asset_id}.p_req_kw")
    pred = _series(ts, f"{asset_id}.p_pred_kw" if kind == "ev_charger" else f"{asset_id}.p_kw")
    state = _series(ts, f"{asset_id}.link_state")
    if meas is None or pred is None or len(meas) <= LAG_STEPS:
        return {"asset_id": asset_id, "kind": kind, "steps": 0, "pass": False,
                "failed": ["no measurements recorded"]}
    fresh = state == 0 if state is not None else np.ones(len(meas), bool)
    settle = int(np.ceil(tol.settle_s / step_s))
    fresh[:settle] = False
    err = _errors(pred, meas, fresh)
    out = {
        "asset_id": asset_id, "kind": kind, "steps": int(len(err)),
        "steps_not_fresh": int((~fresh).sum()),
        "p_rmse_kw": float(np.sqrt(np.mean(err**2))) if len(err) else math.nan,
        "p_max_error_kw": float(np.max(np.abs(err))) if len(err) else math.nan,
        "p_bias_kw": float(np.mean(err)) if len(err) else math.nan,
    }
    soc_meas = _series(ts, f"{asset_id}.soc_meas_percent")
    soc_pred = _series(ts, f"{asset_id}.soc_percent")
    if kind == "battery" and soc_meas is not None and soc_pred is not None:
        soc_err = _errors(soc_pred, soc_meas, fresh)
        out["soc_max_error_percent"] = float(np.max(np.abs(soc_err))) if len(soc_err) \
            else math.nan
    if req is not None and kind in ("battery", "ev_charger"):
        out.update(_delay_metrics(ts, req, pred, meas, samples, step_s, settle, tol,
                                  rt_factor))
    out["failed"] = verdict(out, tol)
    out["pass"] = not out["failed"]
    return out


def verdict(metrics: dict, tol) -> list[str]:
    """The tolerances a device's metrics break, in words (empty: pass)."""
    checks = [("p_rmse_kw", tol.p_rmse_kw, "kW"), ("p_max_error_kw", tol.p_max_error_kw, "kW"),
              ("soc_max_error_percent", tol.soc_max_error_percent, "%"),
              ("tracking_delay_s", tol.tracking_delay_s, "s")]
    failed = []
    if metrics["steps"] == 0:
        failed.append("no step with a fresh measurement")
    for key, limit, unit in checks:
        value = metrics.get(key)
        if value is None:
            continue
        if not np.isfinite(value) or value > limit:
            failed.append(f"{key} {value:.3g} {unit} > {limit:g} {unit}")
    return failed


def lag_metrics(ts: pd.DataFrame) -> dict:
    """How far the run fell behind the wall clock (``clock.lag_s``, not below 0). [wall s]"""
    lag = _series(ts, "clock.lag_s")
    if lag is None or not len(lag):
        return {}
    lag = np.maximum(lag, 0.0)  # a step on time (or a hair early) is not behind
    return {"lag_max_s": float(np.nanmax(lag)), "lag_p95_s": float(np.nanpercentile(lag, 95)),
            "lag_mean_s": float(np.nanmean(lag))}


def openadr_compliance(ts: pd.DataFrame, events: list[dict], step_s: float) -> list[dict]:
    """Each OpenADR event interval (see :mod:`hil.views` ``event_record``) with, where it
    sets a site import limit, the largest import in its window [kW], the energy over
    the limit [kWh] and the steps over it."""
    p = _series(ts, "grid.p_import_kw")
    t = np.arange(len(ts)) * step_s
    out = []
    for e in sorted(events, key=lambda e: (e["start_s"], e["event_id"])):
        row = dict(e)
        limit = e.get("site_limit_kw")
        inside = (t >= e["start_s"]) & (t < e["end_s"])
        row["steps"] = int(inside.sum())
        if limit is not None and p is not None and inside.any():
            over = np.clip(p[inside] - limit, 0.0, None)
            row.update(import_max_kw=float(np.nanmax(p[inside])),
                       e_over_limit_kwh=float(np.nansum(over) * step_s / 3600.0),
                       steps_over_limit=int((over > 1e-9).sum()))
        out.append(row)
    return out
