"""Self-contained HTML report of a run: KPI table and plots (PNG, embedded as base64).

The PNGs are also written to ``plots/`` in the run folder.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from twin import plots
from twin.hil_realised import realised
from twin.kpis import asset_ids, columns, plan_devices, site_powers_kw
from twin.plan_plots import planned_vs_realised
from twin.scenario import Scenario

KPI_LABELS = {
    "pv_production_kwh": "PV production [kWh]",
    "pv_curtailed_kwh": "PV curtailed [kWh]",
    "household_consumption_kwh": "Household consumption [kWh]",
    "ev_charged_kwh": "EV charging [kWh]",
    "ev_discharged_v2g_kwh": "EV discharging, V2G [kWh]",
    "ev_sessions_completed": "EV sessions completed",
    "ev_unmet_at_departure_kwh": "EV energy unmet at departure [kWh]",
    "ev_sessions_with_unmet_energy": "EV sessions with unmet energy",
    "battery_charged_kwh": "Battery charging [kWh]",
    "battery_discharged_kwh": "Battery discharging [kWh]",
    "battery_losses_kwh": "Battery losses [kWh]",
    "battery_stored_change_kwh": "Battery energy, end - start [kWh]",
    "grid_import_kwh": "Grid import [kWh]",
    "grid_export_kwh": "Grid export [kWh]",
    "grid_peak_import_kw": "Peak import [kW]",
    "feeder_losses_kwh": "Feeder losses (lines + transformer) [kWh]",
    "self_consumption_ratio": "Self-consumption of PV [-]",
    "self_sufficiency_ratio": "Self-sufficiency [-]",
    "vm_min_pu": "Lowest bus voltage [pu]",
    "vm_max_pu": "Highest bus voltage [pu]",
    "hours_outside_voltage_limits": "Time outside voltage limits [h]",
    "hours_over_loading_limit": "Time over loading limit [h]",
    "trafo_loading_max_percent": "Transformer loading, max [%]",
    "line_loading_max_percent": "Line loading, max [%]",
    "power_flow_nonconverged_steps": "Power flows not converged [steps]",
    "energy_balance_residual_max_kwh": "Energy balance residual, max [kWh]",
    "forecast_mae_kw": "Forecast error of households + PV, MAE [kW]",
    "forecast_rmse_kw": "Forecast error of households + PV, RMSE [kW]",
    "plan_power_rmse_kw": "Realised against planned device power, RMSE [kW]",
    "plan_energy_max_error_kwh": "Realised against planned stored energy, max error [kWh]",
    "cost_eur": "Energy cost, import - feed-in [EUR]",
    "co2_kg": "CO2 of imports [kg]",
}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def make_figures(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame,
                 inputs: pd.DataFrame) -> dict[str, bytes]:
    if scenario.is_hil:  # what the devices did, as the KPIs
        ts, events = realised(scenario, ts, events)
    ids = asset_ids(scenario)
    ts = ts.copy()  # plot in local wall-clock time
    ts.index = pd.DatetimeIndex(ts.index).tz_convert(scenario.site.timezone).tz_localize(None)
    p = site_powers_kw(scenario, ts)
    g = scenario.grid
    vm = ts[[c for c in ts.columns if c.startswith("vm_pu_bus.")]].astype(float)
    start = ts.index[0]
    end = ts.index[-1] + pd.Timedelta(seconds=scenario.step_s)
    bat = scenario.assets.resolved("battery")
    limits = (min(b.soc_min_percent for b in bat), max(b.soc_max_percent for b in bat)) if bat \
        else (0.0, 100.0)
    ghi = None
    if "ghi_w_per_m2" in inputs:
        ghi = inputs["ghi_w_per_m2"].reindex(ts.index.tz_localize(scenario.site.timezone))
        ghi.index = ts.index
    return {
        "power_balance": _png(plots.power_balance(p)),
        "pv": _png(plots.pv(p["pv"], columns(ts, ids, "pv", "p_avail_kw").sum(axis=1), ghi)),
        "soc": _png(plots.soc(columns(ts, ids, "battery", "soc_percent"),
                              columns(ts, ids, "ev", "soc_percent"), limits)),
        "ev_sessions": _png(
            plots.ev_daily_energy(columns(ts, ids, "ev_charger", "p_kw"), scenario.step_s / 3600)
            if end - start > pd.Timedelta(days=plots.LONG_RUN_DAYS)
            else plots.ev_sessions(events, ids["ev_charger"], start, end)
        ),
        "voltage": _png(plots.voltage(vm, g.vm_min_pu, g.vm_max_pu)),
        "loading": _png(plots.loading(ts["grid.trafo_loading_percent"].astype(float),
                                      ts["grid.line_loading_max_percent"].astype(float),
                                      g.loading_max_percent)),
        **({"plan": _png(planned_vs_realised(ts, plan_devices(ids)))}
           if any(c.endswith(".p_plan_kw") for c in ts.columns) else {}),
    }


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return html.escape(str(value))


COMPARED = ["cost_eur", "grid_import_kwh", "grid_export_kwh", "grid_peak_import_kw",
            "self_consumption_ratio", "self_sufficiency_ratio", "ev_unmet_at_departure_kwh",
            "ev_sessions_with_unmet_energy", "battery_stored_change_kwh", "battery_losses_kwh",
            "hours_outside_voltage_limits", "hours_over_loading_limit",
            "trafo_loading_max_percent", "feeder_losses_kwh", "co2_kg"]


def _comparison(scenario: Scenario, kpis: dict, baseline: dict | None) -> str:
    """This run's key figures beside the rule-based baseline's on the same scenario."""
    if not baseline:
        return ""
    rows = "".join(
        f"<tr><td>{KPI_LABELS[k]}</td><td>{_fmt(kpis[k])}</td><td>{_fmt(baseline[k])}</td>"
        f"<td>{_fmt(kpis[k] - baseline[k])}</td></tr>"
        for k in COMPARED if k in kpis and k in baseline
    )
    saving = baseline.get("cost_eur", 0.0) - kpis.get("cost_eur", 0.0)
    verdict = (f"{scenario.scheduling.strategy} costs {_fmt(abs(saving))} EUR "
               f"{'less' if saving >= 0 else 'more'} than the rule-based baseline")
    return (f"<div><h2>Against the rule-based baseline</h2><p><b>{html.escape(verdict)}</b>"
            f"</p><table><tr><td></td><td><b>{html.escape(scenario.scheduling.strategy)}</b>"
            "</td><td><b>rule-based</b></td><td><b>difference</b></td></tr>"
            f"{rows}</table></div>")


def write_report(run_dir: Path, scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame,
                 kpis: dict, provenance: dict, inputs: pd.DataFrame | None = None,
                 baseline: dict | None = None, market=None, hil: dict | None = None) -> Path:
    """Write plots/*.png and report.html into ``run_dir``; returns the report's path.
    ``market``: a market run's record, ``hil``: a HIL run's validation record
    (``twin.runner.run_kpis`` makes both)."""
    inputs = inputs if inputs is not None else pd.DataFrame()
    figures = make_figures(scenario, ts, events, inputs) if len(ts) else {}
    market_html = ""
    if market is not None:
        from twin.market_report import market_figures, market_table

        figures = {**{k: _png(f) for k, f in market_figures(scenario, market).items()},
                   **figures}
        market_html = market_table(scenario, kpis, _fmt)
    if hil is not None:
        from twin.hil_report import hil_figures, hil_table

        figures = {**{k: _png(f) for k, f in hil_figures(scenario, ts, hil).items()},
                   **figures}
        market_html += hil_table(hil)
    plot_dir = run_dir / "plots"
    plot_dir.mkdir(exist_ok=True)
    for name, data in figures.items():
        (plot_dir / f"{name}.png").write_bytes(data)
    status = provenance.get("status", "unknown")
    banner = "" if status == "completed" else (
        f'<p class="warn">Run status: <b>{html.escape(status)}</b> '
        f'{html.escape(str(provenance.get("error", "")))} — the figures cover the '
        f"{len(ts)} steps recorded.</p>"
    )
    n_bad = kpis.get("power_flow_nonconverged_steps", 0)
    if n_bad:
        banner += (f'<p class="warn">{n_bad} power flow(s) did not converge; those steps have '
                   "no voltages or loadings and count as outside limits only where measured.</p>")
    rows = "".join(
        f"<tr><td>{label}</td><td>{_fmt(kpis[key])}</td></tr>"
        for key, label in KPI_LABELS.items() if key in kpis
    )
    strategy = "market " + scenario.market.rule if scenario.market else \
        scenario.scheduling.strategy
    imgs = "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode(data).decode()}"></figure>'
        for name, data in figures.items()
    )
    names = {"pv": "PV systems", "battery": "batteries", "ev_charger": "EV chargers",
             "ev": "EVs", "load": "households"}
    counts = ", ".join(f"{len(v)} {names[k]}" for k, v in asset_ids(scenario).items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Cariflex Twin — {html.escape(scenario.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1250px; color: #222; }}
h1 {{ margin-bottom: 0.2em; }} .meta {{ color: #555; }}
.warn {{ background: #fff3cd; border: 1px solid #e0b000; padding: 0.6em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td {{ border-bottom: 1px solid #ddd; padding: 0.25em 1em; }}
td:last-child {{ text-align: right; font-variant-numeric: tabular-nums; }}
.cols {{ display: flex; gap: 3em; flex-wrap: wrap; }}
img {{ max-width: 100%; }} figure {{ margin: 1em 0; }}
pre {{ background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }}
</style></head><body>
<h1>{html.escape(scenario.name)}</h1>
<p class="meta">{html.escape(scenario.description)}<br>
Start {scenario.start.isoformat()} · duration {scenario.duration} · step {scenario.step} ·
seed {scenario.seed} · strategy {html.escape(strategy)} ·
{html.escape(counts)} · wall time {provenance.get("command_wall_time_s",
provenance.get("wall_time_s", 0)):.1f} s (command; co-simulation
{provenance.get("wall_time_s", 0):.1f} s)</p>
{banner}
<div class="cols"><div><h2>Key figures</h2><table>{rows}</table></div>
{market_html}{_comparison(scenario, kpis, baseline)}</div>
<h2>Plots</h2>{imgs}
<h2>Provenance</h2><pre>{html.escape(json.dumps(provenance, indent=2, default=str))}</pre>
</body></html>"""
    path = run_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
