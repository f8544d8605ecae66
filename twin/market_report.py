"""The market part of a run: its record, KPIs, gsy-e-shaped exports and report section.

``finish_market`` runs after the co-simulation (also from ``python run.py report``):
it reads what the market operator wrote under ``market/``, adds the utility's
imbalance settlement, writes gsy-e's aggregated results (``gsy/kpi.json``,
``bills.json``, ``price_energy_day.json``, ``trade_profile.json``) and the bills per
participant (``market/bills.csv``), and returns the headline figures for kpis.json.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from twin.gsy_export import write_gsy_results
from twin.market_kpis import MarketRecord, participant_bills
from twin.market_plots import price_volume, savings_by_type
from twin.market_results import market_record
from twin.market_summary import MARKET_KPI_LABELS, market_summary
from twin.scenario import Scenario


def finish_market(scenario: Scenario, run_dir: Path, ts: pd.DataFrame
                  ) -> tuple[MarketRecord, dict]:
    record = market_record(scenario, run_dir, ts)
    write_gsy_results(record, Path(run_dir) / "gsy")
    (Path(run_dir) / "market").mkdir(exist_ok=True)
    participant_bills(record).to_csv(Path(run_dir) / "market" / "bills.csv")
    return record, market_summary(record)


def market_figures(scenario: Scenario, record: MarketRecord) -> dict[str, object]:
    levels = dict(zip(record.areas["area"], record.areas["level"], strict=True))
    return {"market_prices": price_volume(record.trades, levels, record.prices,
                                          scenario.site.timezone),
            "market_savings": savings_by_type(participant_bills(record))}


def market_table(scenario: Scenario, kpis: dict, fmt) -> str:
    m = scenario.market
    rows = "".join(f"<tr><td>{label}</td><td>{fmt(kpis[key])}</td></tr>"
                   for key, label in MARKET_KPI_LABELS.items() if key in kpis)
    mix = ", ".join(f"{s.strategy} {s.share:g}" for s in m.strategies)
    return (f"<div><h2>Market</h2><p class=\"meta\">rule {html.escape(m.rule)} · slot "
            f"{m.slot} · {m.ticks_per_slot} ticks · strategies {html.escape(mix)} · gsy-e "
            "results in <code>gsy/</code></p>"
            f"<table>{rows}</table></div>")
