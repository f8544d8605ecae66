"""Test oracle for ``twin.report.market.legs``, the market view: legs, bills per market, prices.

Written from ``twin.report.market.kpis``'s module docstring, in plain loops like
``market_kpis_oracle`` (whose tree, trade and sum helpers it uses); nothing is imported
from the package.

- legs: a trade is booked in every market on the path seller -> lowest common ancestor
  -> buyer. Each market keeps its own fee (the fee rows of the trade, or the market's
  mean fee rate in the slot x energy); whatever the fees leave of the buyer's payment
  over the seller's goes to the trade's market, else the root, else the first market
  on the path. A leg's price is what its buyer pays: the seller's amount plus the fees
  up to and including that market. Between markets the energy is carried by the child
  it comes up from / goes down to, or the market's own link, named after the market.
- bills per market (gsy-e's ``MarketEnergyBills``): each child and the market's own
  link; a leg's buyer spends price - fee and pays the fee, its seller earns price - fee.
- price statistics and the trade profile: per market and slot, imbalance legs left out.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tests.twin.report.market.market_kpis_oracle import (
    EXTERNAL_NAMES,
    ROLE_OF_KIND,
    kahan_sum,
    parent_of,
    path_between,
    root_of,
    trades_in_time_order,
    with_ends,
)

GSY_TYPE_OF_ROLE = {"consumer": "Load", "producer": "PV", "storage": "Storage"}
BILL_KEYS = ["bought_kwh", "sold_kwh", "spent_ct", "earned_ct", "total_energy_kwh",
             "total_cost_ct", "market_fee_ct"]


def fee_lookup(record):
    """fee(trade, market) -> that market's fee on the trade [ct]: the fee rows of its
    trade_id when both tables carry one, else the market's mean fee rate in the slot."""
    fees = record.fees.to_dict("records")
    if "trade_id" in record.fees.columns and "trade_id" in record.trades.columns:
        linked: dict[tuple, list[float]] = {}
        for f in fees:
            linked.setdefault((f["trade_id"], f["market"]), []).append(f["fee_ct"])
        total = {key: kahan_sum(v) for key, v in linked.items()}
        return lambda t, market: total.get((t["trade_id"], market), 0.0)
    per_slot: dict[tuple, tuple[list[float], list[float]]] = {}
    for f in fees:
        ct, kwh = per_slot.setdefault((f["slot_start"], f["market"]), ([], []))
        ct.append(f["fee_ct"])
        kwh.append(f["energy_kwh"])
    rate = {key: kahan_sum(ct) / kahan_sum(kwh) for key, (ct, kwh) in per_slot.items()}
    return lambda t, market: rate.get((t["slot_start"], market), 0.0) * t["energy_kwh"]


def legs_of_trade(t: dict, parents, fee_of) -> list[tuple]:
    """One trade's legs: (market, seller, buyer, price ct, fee ct) along its path."""
    path = path_between(parents, t["seller_area"], t["buyer_area"])
    e, imbalance = t["energy_kwh"], t["market"] == "imbalance"
    fees = [0.0 if imbalance else fee_of(t, m) for m in path]
    rest = e * (t["buyer_rate_ct_per_kwh"] - t["seller_rate_ct_per_kwh"]) - sum(fees)
    if t["market"] in path:
        fees[path.index(t["market"])] += rest
    elif root_of(parents) in path:
        fees[path.index(root_of(parents))] += rest
    else:
        fees[0] += rest
    legs, price = [], e * t["seller_rate_ct_per_kwh"]
    for k, market in enumerate(path):
        price += fees[k]  # the buyer of this leg pays the seller's net + fees so far
        below, above = path[k - 1] if k > 0 else None, path[k + 1] if k + 1 < len(path) else None
        seller = t["seller_origin"] if below is None else (
            below if parents[below] == market else market)
        buyer = t["buyer_origin"] if above is None else (
            above if parents[above] == market else market)
        legs.append((market, seller, buyer, price, fees[k]))
    return legs


LEG_COLUMNS = ["trade_id", "slot_start", "tick", "market", "seller", "buyer", "seller_origin",
               "buyer_origin", "energy_kwh", "price_ct", "fee_ct", "rate_ct_per_kwh",
               "imbalance"]


def market_legs(record) -> pd.DataFrame:
    """The trades as gsy-e records them, one row per market on each trade's path."""
    parents, fee_of = parent_of(record), fee_lookup(record)
    rows = []
    for t in with_ends(record, parents, trades_in_time_order(record), ROLE_OF_KIND):
        e = t["energy_kwh"]
        for market, seller, buyer, price, fee in legs_of_trade(t, parents, fee_of):
            rows.append((t["trade_id"], t["slot_start"], t["tick"], market, seller, buyer,
                         t["seller_origin"], t["buyer_origin"], e, price, fee,
                         price / e if e else 0.0, t["market"] == "imbalance"))
    return pd.DataFrame(rows, columns=LEG_COLUMNS).astype(
        {"energy_kwh": float, "price_ct": float, "fee_ct": float, "imbalance": bool})


def all_slots(record) -> list:
    return sorted(set(record.prices["slot_start"]) | set(record.trades["slot_start"]))


def median(values: list[float]) -> float:
    s, n = sorted(values), len(values)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def per_kwh(amount_ct: float, energy_kwh: float) -> float:
    """amount / energy as a float division: NaN or inf on zero energy. [ct/kWh]"""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(amount_ct) / np.float64(energy_kwh))


def price_stats(record, legs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per market and slot: min, max, mean, median of the legs' rates [ct/kWh], their
    count, energy [kWh] and energy-weighted rate (vwap); imbalance legs left out."""
    legs = market_legs(record) if legs is None else legs
    seen: dict[tuple, list[tuple]] = {}
    for leg in legs.to_dict("records"):
        if not leg["imbalance"]:
            seen.setdefault((leg["market"], leg["slot_start"]), []).append(
                (leg["rate_ct_per_kwh"], leg["energy_kwh"], leg["price_ct"]))
    markets, slots, rows = list(parent_of(record)), all_slots(record), []
    for market in markets:
        for slot in slots:
            got = seen.get((market, slot), [])
            rates = [r for r, _, _ in got]
            energy = kahan_sum([e for _, e, _ in got])
            rows.append([min(rates), max(rates), kahan_sum(rates) / len(rates),
                         median(rates), len(got), energy,
                         per_kwh(kahan_sum([p for _, _, p in got]), energy)] if got else
                        [math.nan] * 4 + [0, 0.0, math.nan])
    return pd.DataFrame(rows, index=pd.MultiIndex.from_product(
        [markets, slots], names=["market", "slot_start"]), columns=[
        "min", "max", "mean", "median", "count", "energy_kwh", "vwap"]).astype({"count": int})


def trade_profile(record, legs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Energy sold from seller to buyer per market and slot (imbalance left out). [kWh]"""
    legs = market_legs(record) if legs is None else legs
    sold: dict[tuple, list[float]] = {}
    for leg in legs.to_dict("records"):
        if not leg["imbalance"]:
            key = (leg["market"], leg["slot_start"], leg["seller"], leg["buyer"])
            sold.setdefault(key, []).append(leg["energy_kwh"])
    return pd.DataFrame([(*key, kahan_sum(e)) for key, e in sold.items()], columns=[
        "market", "slot_start", "seller", "buyer", "energy_kwh"]).astype({"energy_kwh": float})


def market_children(record, legs: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Each market's children and their gsy-e type: sub-areas, devices, the externals in
    the root, then whoever else trades there (an imbalance pseudo device)."""
    parents = parent_of(record)
    kids: dict[str, dict[str, str]] = {a: {} for a in parents}
    for area, parent in parents.items():
        if parent is not None:
            kids[parent][area] = "Area"
    for d in record.devices.to_dict("records"):
        kids[d["area"]][d["device"]] = GSY_TYPE_OF_ROLE[ROLE_OF_KIND[d["kind"]]]
    for name in EXTERNAL_NAMES:
        kids[root_of(parents)][name] = "MarketMaker"
    for leg in legs.to_dict("records"):
        for party in (leg["seller"], leg["buyer"]):
            if party != leg["market"] and party not in kids[leg["market"]]:
                kids[leg["market"]][party] = "Imbalance"
    return kids


def market_bills(record, legs: pd.DataFrame | None = None) -> pd.DataFrame:
    """gsy-e's bills of every market: one row per child and one for the market's own link
    (``external``). A leg's buyer pays its price (fee included), its seller earns price -
    fee; booked leg by leg, buyer first. [kWh], [ct]"""
    legs = market_legs(record) if legs is None else legs
    book: dict[tuple, dict[str, float]] = {}
    for leg in legs.to_dict("records"):
        e, p, f = leg["energy_kwh"], leg["price_ct"], leg["fee_ct"]
        buyer = book.setdefault((leg["market"], leg["buyer"]), dict.fromkeys(BILL_KEYS, 0.0))
        buyer["bought_kwh"] += e
        buyer["spent_ct"] += p - f
        buyer["total_energy_kwh"] += e
        buyer["total_cost_ct"] += p
        buyer["market_fee_ct"] += f
        seller = book.setdefault((leg["market"], leg["seller"]), dict.fromkeys(BILL_KEYS, 0.0))
        seller["sold_kwh"] += e
        seller["earned_ct"] += p - f
        seller["total_energy_kwh"] += -e
        seller["total_cost_ct"] += -(p - f)
    rows = []
    for market, kids in market_children(record, legs).items():
        for party, kind in [*kids.items(), (market, "External")]:
            amounts = book.get((market, party), dict.fromkeys(BILL_KEYS, 0.0))
            rows.append({"market": market, "party": party, "type": kind,
                         "external": party == market, **amounts})
    return pd.DataFrame(rows)
