"""A HIL run's validation record, its files (``hil/validation.json``, ``hil/faults.csv``
is written by the bridges) and its part of the report: the verdict table and the
measured-against-predicted plots a test engineer signs a device off with."""

from __future__ import annotations

import csv
import html
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from twin.report.hil.realised import realised  # noqa: E402
from twin.report.hil.validation import (  # noqa: E402
    LAG_STEPS,
    device_metrics,
    lag_metrics,
    metered_power_kw,
    openadr_compliance,
)
from twin.results import write_json  # noqa: E402
from twin.scenario.assets import hil_assets, resolve_assets
from twin.scenario.schema import Scenario  # noqa: E402

EXIT_HIL_FAILED = 3  # run.py's exit code when a HIL run completes but fails its validation

# the verdict line's metrics: (key, label, unit, tolerance key)
VERDICT_METRICS = [("p_rmse_kw", "RMSE", "kW", "p_rmse_kw"),
                   ("p_max_error_kw", "max error", "kW", "p_max_error_kw"),
                   ("soc_max_error_percent", "SoC max error", "%", "soc_max_error_percent"),
                   ("tracking_delay_s", "delay", "s", "tracking_delay_s")]


def verdict_lines(record: dict) -> list[str]:
    """One ``PASS`` / ``FAIL`` line per device with its key metrics against the
    tolerances, then the overall verdict."""
    tol = record["tolerances"]
    lines = []
    for d in record["devices"]:
        parts = []
        for key, label, unit, limit in VERDICT_METRICS:
            if key in d:
                v = d[key]
                text = f"{v:.3g}" if isinstance(v, float) and np.isfinite(v) else "n/a"
                parts.append(f"{label} {text} {unit} (<= {tol[limit]:g})")
        word = "PASS" if d["pass"] else "FAIL"
        why = "" if d["pass"] else ": " + "; ".join(d["failed"])
        lines.append(f"  {word} {d['asset_id']} ({d['kind']}): "
                     + (", ".join(parts) or f"{d['steps']} steps") + why)
    n_pass = sum(d["pass"] for d in record["devices"])
    overall = "PASS" if record["pass"] else "FAIL"
    lines.insert(0, f"HIL validation: {overall} ({n_pass} of {len(record['devices'])} "
                 "devices within tolerance)")
    return lines


def print_verdict(run_dir: Path, quiet: bool = False) -> int:
    """Print a HIL run's verdict lines (from ``hil/validation.json``; on stdout, or on
    stderr when ``quiet`` and it failed) and return run.py's exit code: 0 pass,
    :data:`EXIT_HIL_FAILED` fail (also when the run recorded no validation)."""
    path = Path(run_dir) / "hil" / "validation.json"
    if not path.is_file():
        print(f"HIL validation: FAIL (no {path})", file=sys.stderr)
        return EXIT_HIL_FAILED
    record = json.loads(path.read_text(encoding="utf-8"))
    if not quiet or not record["pass"]:
        print("\n".join(verdict_lines(record)), file=sys.stderr if quiet else sys.stdout)
    return 0 if record["pass"] else EXIT_HIL_FAILED


def hil_devices(scenario: Scenario) -> list[tuple[str, str]]:
    """(asset id, kind) of every HIL asset, in the recorder's order."""
    return [(a.id, a.kind) for a in hil_assets(resolve_assets(scenario))]


def read_faults(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "hil" / "faults.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_samples(run_dir: Path) -> dict[str, pd.DataFrame]:
    """The devices' samples (``hil/samples.csv``) by asset id, in time order; empty for a
    run that kept none."""
    path = Path(run_dir) / "hil" / "samples.csv"
    if not path.is_file():
        return {}
    frame = pd.read_csv(path).sort_values("t_s", kind="stable")
    return {aid: g.reset_index(drop=True) for aid, g in frame.groupby("asset_id")}


def read_events(run_dir: Path) -> list[dict]:
    """The OpenADR event intervals the VEN saw (``hil/openadr_events.json``)."""
    path = Path(run_dir) / "hil" / "openadr_events.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def finish_hil(scenario: Scenario, run_dir: Path, ts: pd.DataFrame) -> tuple[dict, dict]:
    """The validation record (also written to ``hil/validation.json``) and its KPIs."""
    tol = scenario.hil.tolerances
    samples = read_samples(run_dir)
    devices = [device_metrics(ts, aid, kind, scenario.step_s, tol,
                              samples.get(aid), scenario.hil.rt_factor)
               for aid, kind in hil_devices(scenario)]
    faults = read_faults(run_dir)
    by_kind: dict[str, int] = {}
    for f in faults:
        by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
    lag = lag_metrics(ts)
    record = {"tolerances": tol.model_dump(), "devices": devices, "faults_by_kind": by_kind,
              "lag": lag, "pass": all(d["pass"] for d in devices),
              "rt_factor": scenario.hil.rt_factor,
              "openadr": openadr_compliance(ts, read_events(run_dir), scenario.step_s)}
    (Path(run_dir) / "hil").mkdir(exist_ok=True)
    write_json(Path(run_dir) / "hil" / "validation.json", record)
    kpis = {"hil_pass": record["pass"], "hil_devices": len(devices),
            "hil_devices_passed": sum(d["pass"] for d in devices), "hil_faults": len(faults),
            **{f"hil_{k}": v for k, v in lag.items() if k != "lag_mean_s"}}
    return record, kpis


def _curve(ax, ts: pd.DataFrame, column: str, label: str, style: str = "-", shift: int = 0,
           lw: float = 1.4, y=None) -> None:
    """A step curve of ``y`` (else of the column, when the run recorded it), moved back
    ``shift`` steps."""
    if y is None and column in ts and ts[column].notna().any():
        y = ts[column].to_numpy()
    if y is not None:
        t = ts.index
        ax.step(t[:len(t) - shift], y[shift:], style, where="post", label=label, lw=lw)


def _frame(ax, ts: pd.DataFrame, settle: pd.Timestamp, ylabel: str) -> None:
    """The settling time shaded grey, the axis label and the legend."""
    if settle > ts.index[0]:
        ax.axvspan(ts.index[0], settle, color="0.85", alpha=0.6, lw=0)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="upper right")


def _metered_kw(ts: pd.DataFrame, device: dict, step_s: float):
    """A station's power from its meter readings [kW], or None (no readings, or no
    station)."""
    column = f"{device['asset_id']}.e_meas_kwh"
    if device["kind"] != "ev_charger" or ts.get(column) is None or not ts[column].notna().any():
        return None
    return metered_power_kw(ts[column].to_numpy(), step_s)


def _power_axes(ax, scenario: Scenario, ts: pd.DataFrame, device: dict, settle) -> None:
    """A device's measured power against the prediction and the setpoint, with the
    steps without a fresh link red and its verdict in the title."""
    aid = device["asset_id"]
    metered = _metered_kw(ts, device, scenario.step_s)
    _curve(ax, ts, f"{aid}.p_meas_kw", "measured" if metered is None else "measured (meter)",
           shift=LAG_STEPS, lw=1.8, y=metered)
    pred = f"{aid}.p_pred_kw" if device["kind"] == "ev_charger" else f"{aid}.p_kw"
    _curve(ax, ts, pred, "predicted (twin)", "--")
    _curve(ax, ts, f"{aid}.p_req_kw", "setpoint", ":", lw=1.0)
    state = ts.get(f"{aid}.link_state")
    if state is not None and (state > 0).any():
        ax.fill_between(ts.index, 0, 1, where=state.to_numpy() > 0, step="post",
                        color="tab:red", alpha=0.15, transform=ax.get_xaxis_transform(),
                        label="link not fresh")
    verdict = "PASS" if device["pass"] else "FAIL: " + "; ".join(device["failed"])
    ax.set_title(f"{aid} ({device['kind']}): {verdict}", fontsize=10, loc="left")
    _frame(ax, ts, settle, "p [kW]")


def _soc_axes(ax, ts: pd.DataFrame, aid: str, settle) -> None:
    """A battery's measured SoC against the prediction."""
    _curve(ax, ts, f"{aid}.soc_meas_percent", "measured", shift=LAG_STEPS, lw=1.8)
    _curve(ax, ts, f"{aid}.soc_percent", "predicted (twin)", "--")
    _frame(ax, ts, settle, "SoC [%]")


def hil_figures(scenario: Scenario, ts: pd.DataFrame, record: dict) -> dict:
    """One figure: per HIL device, measured power (moved back the one step it trails)
    against the prediction and the setpoint, with SoC for batteries; the settling time
    is shaded grey, steps without a fresh link red."""
    devices = record["devices"]
    if not devices or not len(ts):
        return {}
    rows = len(devices) + sum(d["kind"] == "battery" for d in devices)
    fig, axes = plt.subplots(rows, 1, figsize=(11, 2.3 * rows + 0.6), sharex=True,
                             squeeze=False)
    settle = ts.index[0] + pd.Timedelta(seconds=scenario.hil.tolerances.settle_s)
    r = 0
    for d in devices:
        _power_axes(axes[r][0], scenario, ts, d, settle)
        r += 1
        if d["kind"] == "battery":
            _soc_axes(axes[r][0], ts, d["asset_id"], settle)
            r += 1
    axes[-1][0].set_xlabel("time (local)")
    fig.suptitle("HIL validation: measured against predicted for the same setpoints")
    fig.tight_layout()
    return {"hil_validation": fig}


def _cell(value) -> str:
    if isinstance(value, float):
        return "—" if not np.isfinite(value) else f"{value:.3g}"
    return html.escape(str(value))


def hil_table(record: dict) -> str:
    """The verdict table: one row per device."""
    cols = [("p_rmse_kw", "RMSE [kW]"), ("p_max_error_kw", "max error [kW]"),
            ("soc_max_error_percent", "SoC max error [%]"),
            ("tracking_delay_s", "tracking delay [s]"), ("steps", "steps compared")]
    head = "".join(f"<th>{label}</th>" for _, label in cols)
    body = ""
    for d in record["devices"]:
        verdict = "PASS" if d["pass"] else "FAIL: " + "; ".join(d["failed"])
        body += (f"<tr><td>{html.escape(d['asset_id'])}</td><td>{d['kind']}</td>"
                 + "".join(f"<td>{_cell(d.get(k, ''))}</td>" for k, _ in cols)
                 + f"<td>{html.escape(verdict)}</td></tr>")
    tol = record["tolerances"]
    limits = ", ".join(f"{k} {v:g}" for k, v in tol.items())
    faults = ", ".join(f"{k} {v}" for k, v in sorted(record["faults_by_kind"].items())) \
        or "none"
    lag = record["lag"]
    overall = "PASS" if record["pass"] else "FAIL"
    lag_txt = (f"lag behind real time: max {lag['lag_max_s']:.2f} s, p95 "
               f"{lag['lag_p95_s']:.2f} s at rt_factor {record['rt_factor']:g}") if lag else ""
    delay = ("tracking delay: from the setpoint sent until the first device sample within "
             f"p_band_kw {tol['p_band_kw']:g} kW of the prediction (resolution: the sample "
             "interval)")
    return (f"<div><h2>HIL validation: {overall}</h2><p class=\"meta\">{lag_txt}<br>"
            f"tolerances: {html.escape(limits)}"
            f"<br>faults: {html.escape(faults)} (<code>hil/faults.csv</code>)<br>{delay}</p>"
            f"<table><tr><th>device</th><th>kind</th>{head}<th>verdict</th></tr>{body}"
            f"</table>{openadr_table(record.get('openadr', []))}</div>")


def _window(e: dict) -> str:
    def hm(t_s: float) -> str:
        m = int(round(t_s / 60.0))
        return f"{m // 60:02d}:{m % 60:02d}"
    return f"{hm(e['start_s'])}-{hm(e['end_s'])}"


def openadr_table(events: list[dict]) -> str:
    """The OpenADR events in force and the site's compliance with each limit."""
    if not events:
        return ""
    body = ""
    for e in events:
        what = (f"import <= {e['site_limit_kw']:g} kW" if e.get("site_limit_kw") is not None
                else f"{e['price_eur_per_kwh']:g} EUR/kWh"
                if e.get("price_eur_per_kwh") is not None else f"level {e.get('level')}")
        cells = [e["event_id"], e["signal"], _window(e), what,
                 "opt in" if e["opted_in"] else "opt out", e.get("import_max_kw", "—"),
                 e.get("e_over_limit_kwh", "—"), e.get("steps_over_limit", "—")]
        body += "<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in cells) + "</tr>"
    return ("<h3>OpenADR events and compliance</h3><p class=\"meta\">window: simulated time "
            "from the run's start (h:min); largest site import (<code>grid.p_import_kw</code>"
            ") in the window, energy imported above the limit = sum of max(0, import - "
            "limit) x step [kWh] (also in <code>hil/validation.json</code>, "
            "<code>openadr</code>)</p><table><tr><th>event</th><th>signal</th>"
            "<th>window</th><th>limit or price</th><th>response</th>"
            "<th>largest import [kW]</th><th>energy over the limit [kWh]</th>"
            f"<th>steps over</th></tr>{body}</table>")


class HilSection:
    """A HIL run's part (:class:`twin.report.sections.Section`); its record is the
    validation record of ``hil/validation.json``."""

    name = "hil"

    def applies(self, scenario: Scenario) -> bool:
        return scenario.is_hil

    def realised(self, scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """What the devices did, as the KPIs count it (:func:`realised`)."""
        return realised(scenario, ts, events)

    def finish(self, scenario: Scenario, run_dir: Path, ts: pd.DataFrame
               ) -> tuple[dict, dict]:
        return finish_hil(scenario, run_dir, ts)

    def figures(self, scenario: Scenario, ts: pd.DataFrame, record: dict) -> dict:
        return hil_figures(scenario, ts, record)

    def table(self, scenario: Scenario, kpis: dict, record: dict, fmt) -> str:
        return hil_table(record)

    def control(self, scenario: Scenario) -> None:
        return None


HIL = HilSection()
