"""Headline figures of a market run (for kpis.json, the report and ``compare``).

Energies in kWh, money in EUR, rates in ct/kWh; sign convention: positive =
consumption / charging / import, a saving is positive when the market bill is the lower.
Peer-to-peer trades are those between two participants: the market maker and the
utility's imbalance settlement are external, and a participant's trade with itself is
netted behind its meter (``market_self_supplied_kwh``, ``twin.report.market.bills``). Bills
and savings are at the participants' meters, on the stored-energy-neutral utility-only
base of ``twin.report.market.bills``. Each KPI's definition is in ``MARKET_KPIS`` (label,
definition), shown beside it in the report and listed in the README.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.report.market.bills import (
    between_parties,
    meter_bills,
    reconciliation,
    self_pairs,
    service_price_eur_per_kwh,
)
from twin.report.market.kpis import EXTERNALS, IMBALANCE, MarketRecord, area_kpis

# key: (label [unit], definition)
MARKET_KPIS = {
    "market_p2p_traded_kwh": (
        "Traded between participants [kWh]",
        "energy of market trades whose buyer and seller are two different participants"),
    "market_p2p_rate_mean_ct_per_kwh": (
        "Mean rate of those trades [ct/kWh]", "their clearing rates, energy-weighted"),
    "market_self_supplied_kwh": (
        "Own consumption behind the meter [kWh]",
        "market trades between two devices of one participant (e.g. its battery to its "
        "load), netted behind its meter: no purchase, no sale, no P2P trade"),
    "market_bought_from_market_maker_kwh": (
        "Bought from the market maker [kWh]", "trades with the market maker as seller"),
    "market_sold_to_market_maker_kwh": (
        "Sold to the market maker [kWh]", "trades with the market maker as buyer"),
    "market_imbalance_bought_kwh": (
        "Imbalance bought from the utility [kWh]",
        "participants' consumption beyond their trades, settled at the tariff"),
    "market_imbalance_sold_kwh": (
        "Imbalance sold to the utility [kWh]",
        "participants' production beyond their trades, settled at the feed-in price"),
    "market_community_self_sufficiency": (
        "Self-sufficiency, community [-]",
        "1 - energy the participants bought from the market maker and the utility / "
        "their consumption (households + EV charging), at their meters"),
    "market_gsy_self_sufficiency": (
        "Self-sufficiency, gsy-e root area [-]",
        "gsy-e's KPI of the MV area as in gsy/kpi.json: self-consumed trades (producer -> "
        "consumer, storage buffer, market maker inside the area) / demand"),
    "market_gsy_self_consumption": (
        "Self-consumption, gsy-e root area [-]", "gsy-e's KPI of the MV area (gsy/kpi.json)"),
    "market_grid_fees_eur": (
        "Grid fees on trades crossing a meter [EUR]",
        "buyer rate - seller rate, times energy, of every trade but self-pairs"),
    "market_participants_cost_eur": (
        "Participants' net bill [EUR]", "sum of paid - earned at their meters"),
    "market_stored_value_eur": (
        "Value of their batteries' stored-energy change [EUR]",
        "(end - start energy) x the service price; negative: energy drained"),
    "market_utility_only_cost_eur": (
        "Their bill with the utility only [EUR]",
        "households + PV + EV charging per slot behind each meter, batteries idle, at the "
        "tariff (import) or feed-in price (export)"),
    "market_savings_eur": (
        "Savings against the utility-only bill, stored-energy neutral [EUR]",
        "utility-only bill - (net bill - value of the stored-energy change)"),
    "market_participants_saving_share": (
        "Participants who save [-]", "share of participants with a saving > 0"),
    "market_service_price_eur_per_kwh": (
        "Service price [EUR/kWh]",
        "time-weighted mean import price over the run (twin.report.service)"),
    "market_reconciliation_residual_eur": (
        "Reconciliation residual [EUR]",
        "site energy cost - (bills - grid fees + feeder losses + site netting); ~0"),
}
MARKET_KPI_LABELS = {k: label for k, (label, _) in MARKET_KPIS.items()}


def p2p_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """Market trades between two different participants."""
    t = between_parties(trades)
    return t[~t["buyer"].isin(EXTERNALS) & ~t["seller"].isin(EXTERNALS)
             & (t["market"] != IMBALANCE)]


def community_self_sufficiency(record: MarketRecord) -> float:
    """1 - bought from outside / consumption, at the participants' meters. [-]"""
    t = record.trades
    outside = float(t.loc[t["seller"].isin(EXTERNALS), "energy_kwh"].sum())
    kind = record.energy["device"].map(record.devices.set_index("device")["kind"])
    use = float(record.energy.loc[kind.isin(["load", "ev"]), "energy_kwh"].clip(lower=0).sum())
    return 1.0 - outside / use if use > 0 else float("nan")


def market_summary(record: MarketRecord, bills: pd.DataFrame | None = None) -> dict:
    t = record.trades
    p2p = p2p_trades(t)
    energy = float(p2p["energy_kwh"].sum())
    rate = float(np.average(p2p["rate_ct_per_kwh"], weights=p2p["energy_kwh"])) \
        if energy > 0 else float("nan")
    market = t["market"] != IMBALANCE
    root = area_kpis(record).loc[record.root]
    bills = meter_bills(record) if bills is None else bills
    people = bills[bills["type"] != "external"]

    def kwh(mask) -> float:
        return float(t.loc[mask, "energy_kwh"].sum())

    def eur(col) -> float:
        return float(people[col].sum()) / 100.0

    return {
        "market_p2p_traded_kwh": energy,
        "market_p2p_rate_mean_ct_per_kwh": rate,
        "market_self_supplied_kwh": kwh(self_pairs(t)),
        "market_bought_from_market_maker_kwh": kwh(market & (t["seller"] == "market_maker")),
        "market_sold_to_market_maker_kwh": kwh(market & (t["buyer"] == "market_maker")),
        "market_imbalance_bought_kwh": kwh(~market & (t["seller"] == "utility")),
        "market_imbalance_sold_kwh": kwh(~market & (t["buyer"] == "utility")),
        "market_community_self_sufficiency": community_self_sufficiency(record),
        "market_gsy_self_sufficiency": _num(root["self_sufficiency"]),
        "market_gsy_self_consumption": _num(root["self_consumption"]),
        "market_grid_fees_eur": float(bills["fee_ct"].sum()) / 100.0,
        "market_participants_cost_eur": eur("net_bill_ct"),
        "market_stored_value_eur": eur("stored_value_ct"),
        "market_utility_only_cost_eur": eur("utility_only_ct"),
        "market_savings_eur": eur("saving_ct"),
        "market_participants_saving_share":
            float((people["saving_ct"] > 1e-9).mean()) if len(people) else float("nan"),
        "market_service_price_eur_per_kwh": service_price_eur_per_kwh(record),
        "market_reconciliation_residual_eur":
            float(reconciliation(record, bills)["residual"]) if len(record.site)
            else float("nan"),
    }


def _num(value) -> float:
    return float(value) if value is not None and pd.notna(value) else float("nan")
