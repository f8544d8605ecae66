"""The market part of a run: its record, KPIs, gsy-e-shaped exports and report section.

``finish_market`` runs after the co-simulation (also from ``python run.py report``):
it reads what the market operator wrote under ``market/``, adds the utility's
imbalance settlement, writes gsy-e's aggregated results (``gsy/kpi.json``,
``bills.json``, ``price_energy_day.json``, ``trade_profile.json``), the bills at the
participants' meters (``market/bills.csv``) and their reconciliation with the site's
energy cost (``market/reconciliation.csv``), and returns the headline figures for
kpis.json. Sign convention: positive = consumption / import; a bill is what its party
pays, a saving is positive when the market bill is the lower.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from twin.report.market.bills import RECONCILIATION_TERMS, meter_bills, percent_text, reconciliation
from twin.report.market.gsy_export import write_gsy_results
from twin.report.market.kpis import MarketRecord
from twin.report.market.plots import price_volume, savings_by_type
from twin.report.market.record import market_record
from twin.report.market.summary import MARKET_KPIS, market_summary
from twin.scenario.schema import Scenario

SITE_SELF_SUFFICIENCY = (
    "self_sufficiency_ratio", "Self-sufficiency, site [-]",
    "1 - grid import at the transformer / (households + EV charging): the transformer "
    "meter nets every participant and counts battery discharge and PV as local")
WHY_SELF_SUFFICIENCY = (
    "The three differ by what counts as local. The site nets all meters at the "
    "transformer each step. The community counts, at each meter, every kWh bought from "
    "the market maker or the utility as outside energy, also when another participant "
    "sold to the utility in the same slot (and the feeder's losses are not theirs). "
    "gsy-e counts only trades its rule credits: a battery's sale is self-consumption only "
    "up to what a producer sold it in the same area, so energy a battery held at the start "
    "is not, and the market maker inside the MV area counts as local production.")


def role_summary(bills: pd.DataFrame) -> dict:
    """Savings by participant role as flat KPIs (``market_role_<role>_*``). [EUR]"""
    out = {}
    people = bills[bills["type"] != "external"]
    for role, b in people.groupby("role"):
        key = f"market_role_{role.replace(' ', '_')}"
        out[f"{key}_participants"] = int(len(b))
        out[f"{key}_utility_only_eur"] = float(b["utility_only_ct"].sum()) / 100.0
        out[f"{key}_saving_eur"] = float(b["saving_ct"].sum()) / 100.0
    return out


def finish_market(scenario: Scenario, run_dir: Path, ts: pd.DataFrame
                  ) -> tuple[MarketRecord, dict]:
    record = market_record(scenario, run_dir, ts)
    write_gsy_results(record, Path(run_dir) / "gsy")
    (Path(run_dir) / "market").mkdir(exist_ok=True)
    bills = meter_bills(record)
    bills.to_csv(Path(run_dir) / "market" / "bills.csv")
    recon = reconciliation(record, bills)
    pd.DataFrame({"term": [label for _, label in RECONCILIATION_TERMS],
                  "eur": recon.to_numpy()}, index=recon.index).to_csv(
        Path(run_dir) / "market" / "reconciliation.csv", index_label="key")
    summary = market_summary(record, bills)
    summary.update({f"market_reconciliation_{k}_eur": float(v) for k, v in recon.items()})
    summary.update(role_summary(bills))
    return record, summary


def market_figures(scenario: Scenario, record: MarketRecord) -> dict[str, object]:
    levels = dict(zip(record.areas["area"], record.areas["level"], strict=True))
    return {"market_prices": price_volume(record.trades, levels, record.prices,
                                          scenario.site.timezone),
            "market_savings": savings_by_type(meter_bills(record))}


def _row(label: str, value: str, definition: str) -> str:
    return (f"<tr><td>{html.escape(label)}</td><td>{value}</td>"
            f"<td class=\"meta\">{html.escape(definition)}</td></tr>")


def _roles(kpis: dict, fmt) -> str:
    roles = sorted({k[len("market_role_"):-len("_participants")] for k in kpis
                    if k.startswith("market_role_") and k.endswith("_participants")})
    rows = []
    for r in roles:
        base, saving = (kpis[f"market_role_{r}_{x}_eur"] for x in ("utility_only", "saving"))
        pct = percent_text(saving / base * 100 if base > 0 else float("nan"))
        rows.append(f"<tr><td>{r.replace('_', ' ')}</td>"
                    f"<td>{kpis[f'market_role_{r}_participants']}</td><td>{fmt(base)}</td>"
                    f"<td>{fmt(saving)}</td><td>{pct}</td></tr>")
    return ("<h3>Savings by role</h3><table><tr><th>role</th><th>participants</th>"
            "<th>utility-only [EUR]</th><th>saving [EUR]</th><th>saving [%]</th></tr>"
            + "".join(rows) + "</table>") if rows else ""


def _reconciliation(kpis: dict, fmt) -> str:
    rows = "".join(f"<tr><td>{html.escape(label)}</td>"
                   f"<td>{fmt(kpis[f'market_reconciliation_{k}_eur'])}</td></tr>"
                   for k, label in RECONCILIATION_TERMS
                   if f"market_reconciliation_{k}_eur" in kpis)
    return ("<h3>Bills and the site's energy cost [EUR]</h3>"
            f"<table>{rows}</table>") if rows else ""


def market_table(scenario: Scenario, kpis: dict, fmt) -> str:
    m = scenario.market
    rows = "".join(_row(label, fmt(kpis[key]), definition)
                   for key, (label, definition) in MARKET_KPIS.items() if key in kpis)
    key, label, definition = SITE_SELF_SUFFICIENCY
    if key in kpis:
        rows += _row(label, fmt(kpis[key]), definition)
    mix = ", ".join(f"{s.strategy} {s.share:g}" for s in m.strategies)
    return (f"<div><h2>Market</h2><p class=\"meta\">rule {html.escape(m.rule)} · slot "
            f"{m.slot} · {m.ticks_per_slot} ticks · strategies {html.escape(mix)} · gsy-e "
            "results in <code>gsy/</code></p>"
            f"<table>{rows}</table><p class=\"meta\">{html.escape(WHY_SELF_SUFFICIENCY)}</p>"
            f"{_roles(kpis, fmt)}{_reconciliation(kpis, fmt)}</div>")


class MarketSection:
    """The market's part of a run (:class:`twin.report.sections.Section`); its record is
    the run's :class:`~twin.report.market.kpis.MarketRecord`."""

    name = "market"

    def applies(self, scenario: Scenario) -> bool:
        return scenario.market is not None

    def realised(self, scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
        return ts, events

    def finish(self, scenario: Scenario, run_dir: Path, ts: pd.DataFrame
               ) -> tuple[MarketRecord, dict]:
        return finish_market(scenario, run_dir, ts)

    def figures(self, scenario: Scenario, ts: pd.DataFrame, record: MarketRecord
                ) -> dict[str, object]:
        return market_figures(scenario, record)

    def table(self, scenario: Scenario, kpis: dict, record: MarketRecord, fmt) -> str:
        return market_table(scenario, kpis, fmt)

    def control(self, scenario: Scenario) -> str:
        return "market " + scenario.market.rule


MARKET = MarketSection()
