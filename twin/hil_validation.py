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


def device_metrics(ts: pd.DataFrame, asset_id: str, kind: str, step_s: float,
                   tol) -> dict:
    """Metrics and verdict of one HIL device (``tol``: the scenario's ``Tolerances``)."""
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
        after = slice(settle, None)
        delays, missed = tracking_delays_s(req[after], pred[after], meas[after], step_s,
                                           tol.p_band_kw)
        out["setpoint_changes"] = len(delays)
        out["tracking_delay_s"] = float(np.max(delays)) if delays else 0.0
        out["tracking_delay_median_s"] = float(np.median(delays)) if delays else 0.0
        out["setpoints_not_reached"] = missed
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
