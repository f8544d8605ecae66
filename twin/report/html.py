"""Self-contained HTML report of a run: KPI table and plots (PNG, embedded as base64).

The PNGs are also written to ``plots/`` in the run folder.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from twin.report import plots
from twin.report.kpi_defs import KPI_DEFS, KPI_LABELS
from twin.report.kpis import asset_ids, columns, plan_devices, site_powers_kw
from twin.report.limits import describe
from twin.report.plan_plots import planned_vs_realised
from twin.report.render import cell_text, png_bytes
from twin.report.sections import control_label, realised_series, sections_for
from twin.report.service import (
    SERVICE_KPIS,
    SERVICE_TOLERANCE_FRACTION,
    SERVICE_TOLERANCE_KWH,
    verdict,
)
from twin.scenario.schema import Scenario


def make_figures(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame,
                 inputs: pd.DataFrame) -> dict[str, bytes]:
    ts, events = realised_series(scenario, ts, events)  # what the KPIs count
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
        "power_balance": png_bytes(plots.power_balance(p)),
        "pv": png_bytes(plots.pv(p["pv"], columns(ts, ids, "pv", "p_avail_kw").sum(axis=1), ghi)),
        "soc": png_bytes(plots.soc(columns(ts, ids, "battery", "soc_percent"),
                              columns(ts, ids, "ev", "soc_percent"), limits)),
        "ev_sessions": png_bytes(
            plots.ev_daily_energy(columns(ts, ids, "ev_charger", "p_kw"), scenario.step_s / 3600)
            if end - start > pd.Timedelta(days=plots.LONG_RUN_DAYS)
            else plots.ev_sessions(events, ids["ev_charger"], start, end)
        ),
        "voltage": png_bytes(plots.voltage(vm, g.vm_min_pu, g.vm_max_pu)),
        "loading": png_bytes(plots.loading(ts["grid.trafo_loading_percent"].astype(float),
                                      ts["grid.line_loading_max_percent"].astype(float),
                                      g.loading_max_percent)),
        **({"plan": png_bytes(planned_vs_realised(ts, plan_devices(ids)))}
           if any(c.endswith(".p_plan_kw") for c in ts.columns) else {}),
    }


COMPARED = ["grid_import_kwh", "grid_export_kwh", "grid_peak_import_kw",
            "self_consumption_ratio", "self_sufficiency_ratio", "ev_unmet_at_departure_kwh",
            "ev_sessions_with_unmet_energy", "battery_losses_kwh",
            "hours_outside_voltage_limits", "hours_over_loading_limit",
            "trafo_loading_max_percent", "feeder_losses_kwh", "co2_kg"]


def _flag_notes(kpis: dict, key: str) -> str:
    """The end-of-run notes on the figure ``key`` (kpis' ``end_of_run_flags``)."""
    notes = [f["note"] for f in kpis.get("end_of_run_flags", []) if key in f["kpis"]]
    return "".join(f'<div class="note">&#9873; {html.escape(n)}</div>' for n in notes)


def kpi_rows(kpis: dict) -> str:
    """The key figures, each with its definition and any end-of-run note."""
    return "".join(
        f"<tr><td>{html.escape(d.label)}{_flag_notes(kpis, key)}</td>"
        f'<td class="num">{cell_text(kpis[key])}</td>'
        f'<td class="def">{html.escape(d.definition)}</td></tr>'
        for key, d in KPI_DEFS.items() if key in kpis)


def limits_callout(kpis: dict) -> str:
    """A callout per limit episode: when, which element, how far over, how long, and
    which devices drew most at its worst step."""
    episodes = kpis.get("limit_episodes", [])
    if not episodes:
        return ""
    items = "".join(
        f"<li>{html.escape(describe(e))}; drawing most at the worst step: "
        + (html.escape(", ".join(f"{d} {p:.1f} kW" for d, p in e["top_devices"])) or "none")
        + "</li>" for e in episodes)
    return (f'<div class="warn"><b>Limits exceeded</b> ({len(episodes)} episode(s))'
            f"<ul>{items}</ul></div>")


def comparison(scenario: Scenario, kpis: dict, baseline: dict | None) -> str:
    """This run beside the rule-based baseline on the same scenario: first what each side
    delivered and its cost for the same service, then the other key figures; the
    verdict line from :func:`twin.report.service.verdict`."""
    if not baseline:
        return ""
    name = scenario.scheduling.strategy
    price = kpis.get("service_price_eur_per_kwh", 0.0)
    keys = [k for k, _ in SERVICE_KPIS] + ["cost_eur", "same_service_cost_eur",
                                           "battery_stored_change_kwh", *COMPARED]
    rows = "".join(
        f"<tr><td>{html.escape(KPI_LABELS[k])}{_flag_notes(kpis, k)}</td>"
        f'<td class="num">{cell_text(kpis[k])}</td><td class="num">{cell_text(baseline[k])}</td>'
        f'<td class="num">{cell_text(kpis[k] - baseline[k])}</td></tr>'
        for k in dict.fromkeys(keys) if k in kpis and k in baseline)
    line = verdict(name, "the rule-based baseline", kpis, baseline, price)
    return (f"<div><h2>Against the rule-based baseline</h2><p><b>{html.escape(line)}</b></p>"
            f'<p class="meta">Cost for the same service = cost - {price:.4f} EUR/kWh x battery '
            f"stored change + {price:.4f} EUR/kWh x EV energy still owed (the run's mean "
            f"import price); services count as the same within {SERVICE_TOLERANCE_KWH:g} kWh "
            f"+ {SERVICE_TOLERANCE_FRACTION:.0%} of the larger.</p>"
            f"<table><tr><td></td><td><b>{html.escape(name)}</b>"
            "</td><td><b>rule-based</b></td><td><b>difference</b></td></tr>"
            f"{rows}</table></div>")


def section_parts(scenario: Scenario, ts: pd.DataFrame, kpis: dict, records: dict
                  ) -> tuple[dict[str, bytes], str]:
    """The figures (PNG) and HTML tables of the run's sections that have a record."""
    figures, tables = {}, ""
    for section in sections_for(scenario):
        record = records.get(section.name)
        if record is None:
            continue
        figures = {**{k: png_bytes(f) for k, f in section.figures(scenario, ts, record).items()},
                   **figures}
        tables += section.table(scenario, kpis, record, cell_text)
    return figures, tables


def write_report(run_dir: Path, scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame,
                 kpis: dict, provenance: dict, inputs: pd.DataFrame | None = None,
                 baseline: dict | None = None, **records) -> Path:
    """Write plots/*.png and report.html into ``run_dir``; returns the report's path.
    ``records``: each section's record by the section's name (``market=``: a market
    run's record, ``hil=``: a HIL run's validation record; ``twin.report.records.run_records``
    makes them), None or left out for a section the run has not."""
    inputs = inputs if inputs is not None else pd.DataFrame()
    figures = make_figures(scenario, ts, events, inputs) if len(ts) else {}
    extra, section_html = section_parts(scenario, ts, kpis, records)
    figures = {**extra, **figures}
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
    banner += limits_callout(kpis)
    rows = kpi_rows(kpis)
    strategy = control_label(scenario)
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
td:last-child, td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
td.def {{ text-align: left; color: #555; font-size: 0.8em; max-width: 28em; }}
.note {{ font-size: 0.8em; max-width: 28em; }}
.note {{ color: #8a5a00; }}
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
{section_html}{comparison(scenario, kpis, baseline)}</div>
<h2>Plots</h2>{imgs}
<h2>Provenance</h2><pre>{html.escape(json.dumps(provenance, indent=2, default=str))}</pre>
</body></html>"""
    path = run_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
