"""The comparison report of ``python run.py compare``: one page, the rules side by side.

Sections: the verdict between the rules (``twin.report.service.verdict`` on the participants'
net bills, beside what each rule delivered: ``twin.report.service.SERVICE_KPIS``), KPI table
(market and grid), savings by participant role, price and volume per slot, saving by
role and the distribution of participants' bills, the grid's response (voltage
envelope, transformer loading, losses) and a peak one rule has and the others do not
(``twin.report.compare_peak``). Written as ``comparison.html`` (PNGs embedded and under
``plots/``) and ``comparison.json`` (every run's KPIs).

Savings are on ONE utility-only base for every rule: the base of the first rule's run
(households, PV and EV charging behind each meter, batteries idle; ``twin.report.market.bills``),
whose households and PV no rule changes; each rule's bills, stored-energy value (at one
service price) and savings are recomputed on it. Sign convention: positive =
consumption / import; a saving is positive when the market bill is the lower.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from twin.report.compare_peak import explain_peak, own_peaks, peak_html  # noqa: E402
from twin.report.kpi_defs import KPI_LABELS  # noqa: E402
from twin.report.market.bills import (  # noqa: E402
    meter_bills,
    percent_text,
    service_price_eur_per_kwh,
    utility_only_ct,
)
from twin.report.market.plots import p2p_rate  # noqa: E402
from twin.report.market.record import market_record  # noqa: E402
from twin.report.market.section import role_summary  # noqa: E402
from twin.report.market.summary import MARKET_KPI_LABELS, p2p_trades  # noqa: E402
from twin.report.render import cell_text, png_bytes  # noqa: E402
from twin.report.service import (  # noqa: E402
    SERVICE_KPIS,
    SERVICE_TOLERANCE_FRACTION,
    SERVICE_TOLERANCE_KWH,
    ev_owed_kwh,
    verdict,
)
from twin.results import read_timeseries  # noqa: E402
from twin.scenario.schema import Scenario  # noqa: E402

GRID_KPIS = ["cost_eur", "grid_import_kwh", "grid_export_kwh", "grid_peak_import_kw",
             "battery_stored_change_kwh", "ev_unmet_at_departure_kwh", "vm_min_pu",
             "vm_max_pu", "hours_outside_voltage_limits", "trafo_loading_max_percent",
             "line_loading_max_percent", "hours_over_loading_limit", "feeder_losses_kwh",
             "power_flow_nonconverged_steps"]


def _load(run: dict, scenario: Scenario) -> dict:
    d = Path(run["run_dir"])
    kpis = json.loads((d / "kpis.json").read_text()) if (d / "kpis.json").is_file() else {}
    ts = read_timeseries(d)
    rec = market_record(scenario, d, ts) if len(ts) else None
    return {**run, "kpis": kpis, "ts": ts, "record": rec}


def _local(index, tz):
    return pd.DatetimeIndex(index).tz_convert(tz).tz_localize(None)


def _finish(fig, axes, ncol: int):
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, ncol=ncol)
    fig.tight_layout()
    return fig


def _curves(runs, tz):
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    p = runs[0]["record"].prices.set_index("slot_start")
    for r in runs:  # slots without trades are gaps in the rate, zeros in the volume
        t = r["record"].trades
        rate = p2p_rate(t).reindex(p.index)
        a1.plot(_local(p.index, tz), rate.to_numpy(), lw=1.2, label=r["rule"])
        vol = p2p_trades(t).groupby("slot_start")["energy_kwh"].sum().reindex(p.index)
        a2.plot(_local(p.index, tz), vol.fillna(0.0).to_numpy(), lw=1.2, label=r["rule"])
    for ax in (a1,):
        ax.step(_local(p.index, tz), p["tariff_ct_per_kwh"], where="post", color="#999",
                ls="--", lw=1, label="tariff")
        ax.step(_local(p.index, tz), p["feed_in_ct_per_kwh"], where="post", color="#999",
                ls=":", lw=1, label="feed-in")
    a1.set_ylabel("mean P2P rate [ct/kWh]")
    a2.set_ylabel("P2P energy [kWh per slot]")
    a1.set_title("Peer-to-peer price and volume per slot")
    return _finish(fig, (a1, a2), ncol=6)


def common_base(runs: list[dict]) -> tuple[pd.Series, float]:
    """The one utility-only base [ct per participant] and service price [EUR/kWh] of a
    comparison: those of its first rule's run."""
    first = runs[0]["record"]
    return utility_only_ct(first), service_price_eur_per_kwh(first)


def on_common_base(runs: list[dict]) -> None:
    """Each run's bills on the common base; its savings KPIs replaced by theirs."""
    base, price = common_base(runs)
    for r in runs:
        b = meter_bills(r["record"], base_ct=base, price_eur_per_kwh=price)
        people = b[b["type"] != "external"]
        r["bills"] = b
        r["kpis"] = {k: v for k, v in r["kpis"].items() if not k.startswith("market_role_")}
        r["kpis"].update({
            "market_utility_only_cost_eur": float(people["utility_only_ct"].sum()) / 100,
            "market_stored_value_eur": float(people["stored_value_ct"].sum()) / 100,
            "market_savings_eur": float(people["saving_ct"].sum()) / 100,
            "market_participants_saving_share": float((people["saving_ct"] > 1e-9).mean()),
            "market_service_price_eur_per_kwh": price, **role_summary(b)})


def _savings(runs):
    bills = {r["rule"]: r["bills"] for r in runs}
    types = sorted({k for b in bills.values() for k in b["role"] if k != "external"})
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
    width = 0.8 / len(runs)
    for i, (rule, b) in enumerate(bills.items()):
        saving = [b.loc[b["role"] == k, "saving_ct"].sum() / 100 for k in types]
        a1.bar(np.arange(len(types)) + i * width, saving, width, label=rule)
    a1.set_xticks(np.arange(len(types)) + 0.4 - width / 2, types)
    a1.set_ylabel("saving against utility-only [EUR]")
    a1.set_title("Saving by participant role (common base, stored-energy neutral)")
    a1.axhline(0, color="#888", lw=0.8)
    a1.legend(fontsize=8)
    data = [b.loc[b["type"] != "external", "net_bill_ct"].to_numpy() / 100
            for b in bills.values()]
    a2.boxplot(data)
    a2.set_xticks(range(1, len(bills) + 1), list(bills))
    a2.set_ylabel("net bill per participant [EUR]")
    a2.set_title("Bills distribution")
    for ax in (a1, a2):
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def _grid(runs, scenario: Scenario, tz):
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    for r in runs:
        ts = r["ts"]
        t = _local(ts.index, tz)
        vm = ts[[c for c in ts.columns if c.startswith("vm_pu_bus.")]].astype(float)
        line, = a1.plot(t, vm.min(axis=1), lw=1, label=f"{r['rule']}")
        a1.plot(t, vm.max(axis=1), lw=1, color=line.get_color())
        a2.plot(t, ts["grid.trafo_loading_percent"].astype(float), lw=1, label=r["rule"])
    a1.axhline(scenario.grid.vm_min_pu, color="#c1121f", ls="--", lw=0.8)
    a1.axhline(scenario.grid.vm_max_pu, color="#c1121f", ls="--", lw=0.8)
    a1.set_ylabel("bus voltage, min and max [pu]")
    a1.set_title("Grid impact")
    a2.axhline(scenario.grid.loading_max_percent, color="#c1121f", ls="--", lw=0.8)
    a2.set_ylabel("transformer loading [%]")
    return _finish(fig, (a1, a2), ncol=4)


def _service_side(kpis: dict) -> dict:
    """A rule's side of a verdict: its participants' net bill and what it delivered."""
    return {**{k: kpis[k] for k, _ in SERVICE_KPIS if k in kpis},
            "ev_owed_kwh": ev_owed_kwh(kpis), "cost_eur": kpis["market_participants_cost_eur"]}


def verdicts(runs: list[dict]) -> list[str]:
    """The rule whose participants pay least against each other rule (twin.report.service)."""
    done = [r for r in runs if "market_participants_cost_eur" in r["kpis"]]
    if len(done) < 2:
        return []
    best = min(done, key=lambda r: r["kpis"]["market_participants_cost_eur"])
    price = best["kpis"].get("market_service_price_eur_per_kwh", float("nan"))
    return [verdict(best["rule"], r["rule"], _service_side(best["kpis"]),
                    _service_side(r["kpis"]), price) for r in done if r is not best]


def _service_table(loaded: list[dict]) -> str:
    rows = [("Participants' net bill [EUR]", lambda k: k.get("market_participants_cost_eur")),
            ("Site energy cost [EUR]", lambda k: k.get("cost_eur"))]
    rows += [(label, (lambda k, key=key: ev_owed_kwh(k) if key == "ev_owed_kwh" else
                      k.get(key))) for key, label in SERVICE_KPIS]
    head = "".join(f"<th>{html.escape(r['rule'])}</th>" for r in loaded)
    body = "".join(f"<tr><td>{html.escape(label)}</td>" + "".join(
        f"<td>{cell_text(get(r['kpis']) if r['kpis'] else '')}</td>" for r in loaded) + "</tr>"
        for label, get in rows)
    return f"<table><tr><th></th>{head}</tr>{body}</table>"


def _roles_table(ok: list[dict]) -> str:
    roles = sorted({x for r in ok for x in r["bills"]["role"] if x != "external"})
    head = "".join(f"<th>{html.escape(r['rule'])}</th>" for r in ok)
    body = ""
    for role in roles:
        cells = []
        for r in ok:
            b = r["bills"][r["bills"]["role"] == role]
            base, saving = b["utility_only_ct"].sum() / 100, b["saving_ct"].sum() / 100
            pct = percent_text(saving / base * 100 if base > 0 else float("nan"))
            cells.append(f"<td>{saving:.2f} EUR ({pct})</td>")
        body += f"<tr><td>{html.escape(role)} (n={len(b)}, base {base:.2f} EUR)</td>" \
            + "".join(cells) + "</tr>"
    return f"<table><tr><th>role</th>{head}</tr>{body}</table>"


def _analysis(ok: list[dict], scenario: Scenario) -> str:
    if not ok:
        return ""
    levels = dict(zip(ok[0]["record"].areas["area"], ok[0]["record"].areas["level"],
                      strict=True))
    lines = "".join(f"<li>{html.escape(v)}</li>" for v in verdicts(ok))
    peaks = [explain_peak(p, levels, scenario.step_s / 3600) for p in own_peaks(ok)]
    return (f"<h2>Verdict</h2><ul>{lines}</ul><p class=\"meta\">Cost: the participants' "
            "net bill; the same service within twin.report.service's tolerance "
            f"({SERVICE_TOLERANCE_KWH:g} kWh + {SERVICE_TOLERANCE_FRACTION:.0%}), valued at "
            "the service price otherwise.</p><h2>What each rule delivered</h2>"
            f"{_service_table(ok)}<h2>Savings by participant role</h2><p class=\"meta\">"
            "One utility-only base for every rule (the first rule's households, PV and EV "
            "charging behind each meter, batteries idle), stored-energy neutral.</p>"
            f"{_roles_table(ok)}{peak_html(peaks, scenario.site.timezone)}")


def write_comparison(folder: Path, scenario: Scenario, runs: list[dict]) -> Path:
    loaded = [_load(r, scenario) for r in runs]
    ok = [r for r in loaded if r["record"] is not None]
    tz = scenario.site.timezone
    figures = {}
    if ok:
        on_common_base(ok)
        figures = {"price_volume": png_bytes(_curves(ok, tz)), "surplus_bills": png_bytes(_savings(ok)),
                   "grid": png_bytes(_grid(ok, scenario, tz))}
    plot_dir = folder / "plots"
    plot_dir.mkdir(exist_ok=True)
    for name, data in figures.items():
        (plot_dir / f"{name}.png").write_bytes(data)
    labels = {**MARKET_KPI_LABELS, **{k: KPI_LABELS[k] for k in GRID_KPIS}}
    head = "".join(f"<th>{html.escape(r['rule'])}</th>" for r in loaded)
    rows = "".join(
        f"<tr><td>{label}</td>"
        + "".join(f"<td>{cell_text(r['kpis'].get(key, ''))}</td>" for r in loaded) + "</tr>"
        for key, label in labels.items())
    status = "".join(f"<li>{html.escape(r['rule'])}: {html.escape(r['status'])} "
                     f"{html.escape(r.get('error') or '')} — <code>{html.escape(r['run_dir'])}"
                     f"</code> ({r['wall_time_s']:.1f} s)</li>" for r in loaded)
    imgs = "".join(f'<figure><img alt="{n}" src="data:image/png;base64,'
                   f'{base64.b64encode(d).decode()}"></figure>' for n, d in figures.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Cariflex Twin — {html.escape(scenario.name)}: clearing rules compared</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1250px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25em 1em; }}
td + td {{ text-align: right; font-variant-numeric: tabular-nums; }}
img {{ max-width: 100%; }} .meta {{ color: #555; }}
</style></head><body>
<h1>{html.escape(scenario.name)}: clearing rules compared</h1>
<p class="meta">Same scenario and seed ({scenario.seed}) for every rule; start
{scenario.start.isoformat()}, duration {scenario.duration}, slot {scenario.market.slot},
{scenario.market.ticks_per_slot} ticks.</p>
<ul>{status}</ul>
{_analysis(ok, scenario)}
<h2>Key figures</h2><table><tr><th></th>{head}</tr>{rows}</table>
<h2>Plots</h2>{imgs}
</body></html>"""
    path = folder / "comparison.html"
    path.write_text(page, encoding="utf-8")
    (folder / "comparison.json").write_text(json.dumps(
        {r["rule"]: {"run_dir": r["run_dir"], "status": r["status"], "kpis": r["kpis"]}
         for r in loaded}, indent=2, default=str))
    return path
