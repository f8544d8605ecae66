"""Headline figures of a market run (for kpis.json, the report and ``compare``).

Energies in kWh, money in EUR, rates in ct/kWh. Peer-to-peer trades are those between
participants; the market maker and the utility's imbalance settlement are external.
The community's self-sufficiency and self-consumption are gsy-e's KPIs of the root
area with the externals outside it (``area_kpis(externals_in_root=False)``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.market_kpis import EXTERNALS, IMBALANCE, MarketRecord, area_kpis, participant_bills

MARKET_KPI_LABELS = {
    "market_p2p_traded_kwh": "Traded between participants [kWh]",
    "market_p2p_rate_mean_ct_per_kwh": "Mean rate of those trades, energy-weighted [ct/kWh]",
    "market_bought_from_market_maker_kwh": "Bought from the market maker [kWh]",
    "market_sold_to_market_maker_kwh": "Sold to the market maker [kWh]",
    "market_imbalance_bought_kwh": "Imbalance bought from the utility [kWh]",
    "market_imbalance_sold_kwh": "Imbalance sold to the utility [kWh]",
    "market_community_self_sufficiency": "Community self-sufficiency (gsy-e) [-]",
    "market_community_self_consumption": "Community self-consumption (gsy-e) [-]",
    "market_grid_fees_eur": "Grid fees booked [EUR]",
    "market_participants_cost_eur": "Participants' net bill [EUR]",
    "market_utility_only_cost_eur": "Their bill with the utility only [EUR]",
    "market_savings_eur": "Savings against the utility-only bill [EUR]",
    "market_participants_saving_share": "Participants who save [-]",
}


def p2p_trades(trades: pd.DataFrame) -> pd.DataFrame:
    return trades[~trades["buyer"].isin(EXTERNALS) & ~trades["seller"].isin(EXTERNALS)
                  & (trades["market"] != IMBALANCE)]


def market_summary(record: MarketRecord) -> dict:
    t = record.trades
    p2p = p2p_trades(t)
    energy = float(p2p["energy_kwh"].sum())
    rate = float(np.average(p2p["rate_ct_per_kwh"], weights=p2p["energy_kwh"])) \
        if energy > 0 else float("nan")
    market = t["market"] != IMBALANCE
    root = area_kpis(record, externals_in_root=False).loc[record.root]
    bills = participant_bills(record)
    people = bills[bills["type"] != "external"]
    cost = float(people["total_cost_ct"].sum()) / 100.0
    base = float(people["base_case_cost_ct"].sum()) / 100.0

    def kwh(mask) -> float:
        return float(t.loc[mask, "energy_kwh"].sum())

    return {
        "market_p2p_traded_kwh": energy,
        "market_p2p_rate_mean_ct_per_kwh": rate,
        "market_bought_from_market_maker_kwh": kwh(market & (t["seller"] == "market_maker")),
        "market_sold_to_market_maker_kwh": kwh(market & (t["buyer"] == "market_maker")),
        "market_imbalance_bought_kwh": kwh(~market & (t["seller"] == "utility")),
        "market_imbalance_sold_kwh": kwh(~market & (t["buyer"] == "utility")),
        "market_community_self_sufficiency": _num(root["self_sufficiency"]),
        "market_community_self_consumption": _num(root["self_consumption"]),
        "market_grid_fees_eur": float(record.fees["fee_ct"].sum()) / 100.0,
        "market_participants_cost_eur": cost,
        "market_utility_only_cost_eur": base,
        "market_savings_eur": base - cost,
        "market_participants_saving_share":
            float((people["saving_absolute_ct"] > 1e-9).mean()) if len(people) else float("nan"),
    }


def _num(value) -> float:
    return float(value) if value is not None and pd.notna(value) else float("nan")
