"""The market view of a run's trades, as gsy-e records them: one leg per market on each
trade's path, and per market its bills, price statistics and trade profile (pure pandas).

Definitions and deviations: :mod:`twin.report.market.kpis` (gsy-framework's
``bills.py`` ``MarketEnergyBills``, ``market_price_energy_day.py``,
``energy_trade_profile.py``). Units: energies kWh, rates ct/kWh, money EUR cents
(``_ct``). Sign convention: positive = consumption / import; a leg's price is what its
buyer pays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.report.market.kpis import (
    EXTERNALS,
    IMBALANCE,
    KIND_ROLE,
    ROLE_TYPE,
    MarketRecord,
    side_origins,
    sorted_trades,
)
from twin.report.market.kpis_fast import interleave, leg_lookup, leg_parties, sequential_sums


def grid_fees(record: MarketRecord) -> pd.Series:
    """Grid fees booked per market over the run. [ct]"""
    return record.fees.groupby("market")["fee_ct"].sum().rename("fee_ct")


def _leg_fees(record: MarketRecord, t: pd.DataFrame, trade: np.ndarray, node: np.ndarray,
              e: np.ndarray) -> np.ndarray:
    """Each leg's fee in its market [ct]: the fees of its ``trade_id`` there if both tables
    carry one, else the market's average fee rate in the slot x energy."""
    f = record.fees
    if "trade_id" in f.columns and "trade_id" in record.trades.columns:
        linked = f.groupby(["trade_id", "market"])["fee_ct"].sum()
        return leg_lookup(linked, t["trade_id"], trade, node, record.tree)
    g = f.groupby(["slot_start", "market"])[["fee_ct", "energy_kwh"]].sum()
    rate = g["fee_ct"] / g["energy_kwh"]
    return leg_lookup(rate, t["slot_start"], trade, node, record.tree) * e[trade]


LEG_TYPES = {"energy_kwh": float, "price_ct": float, "fee_ct": float, "imbalance": bool}
LEG_COLUMNS = ["trade_id", "slot_start", "tick", "market", "seller", "buyer", "seller_origin",
               "buyer_origin", "energy_kwh", "price_ct", "fee_ct", "rate_ct_per_kwh",
               "imbalance"]


def market_legs(record: MarketRecord) -> pd.DataFrame:
    """The trades as gsy-e records them, one row per market on each trade's path.

    Columns: trade_id, slot_start, tick, market, seller, buyer (the child, device,
    external or the market's own link named after it), seller_origin, buyer_origin,
    energy_kwh, price_ct (what the leg's buyer pays), fee_ct (this market's fee),
    rate_ct_per_kwh (price / energy, gsy-e's ``energy_rate``), imbalance.
    """
    t, tree = sorted_trades(record), record.tree
    if t.empty:
        return pd.DataFrame([], columns=LEG_COLUMNS).astype(LEG_TYPES)
    s_org, s_loc, _ = side_origins(record, t, "seller", KIND_ROLE)
    b_org, b_loc, _ = side_origins(record, t, "buyer", KIND_ROLE)
    ends = tree.codes(s_loc), tree.codes(b_loc)
    lost = set(s_loc[ends[0] < 0]) | set(b_loc[ends[1] < 0])
    if lost:
        raise KeyError(f"trades at places that are no area: {sorted(lost, key=str)}")
    trade, step, node, length = tree.paths(*ends)
    e, br, sr = (t[c].to_numpy(dtype=float) for c in (
        "energy_kwh", "buyer_rate_ct_per_kwh", "seller_rate_ct_per_kwh"))
    imb = (t["market"] == IMBALANCE).to_numpy()
    fees = np.where(imb[trade], 0.0, _leg_fees(record, t, trade, node, e))
    # the remainder of the buyer's payment goes to the trade's market if on the path,
    # else to the root if on it, else to the first leg
    home = np.full(len(t), -1)
    here = node == tree.codes(t["market"])[trade]
    home[trade[here]] = step[here]
    here = (node == tree.root) & (home[trade] < 0)
    home[trade[here]] = step[here]
    home = np.cumsum(length) - length + np.maximum(home, 0)
    fees[home] += e * (br - sr) - sequential_sums(step, trade, fees, np.zeros(len(t)))
    price = sequential_sums(step, trade, fees, e * sr, running=True)
    energy = e[trade]
    seller, buyer = tree.leg_ends(trade, step, node, length, s_org, b_org)
    return pd.DataFrame({
        "trade_id": t["trade_id"].to_numpy()[trade],
        "slot_start": t["slot_start"].array.take(trade), "tick": t["tick"].to_numpy()[trade],
        "market": tree.names[node], "seller": seller, "buyer": buyer,
        "seller_origin": s_org[trade], "buyer_origin": b_org[trade], "energy_kwh": energy,
        "price_ct": price, "fee_ct": fees,
        "rate_ct_per_kwh": np.divide(price, energy, out=np.zeros(len(price)),
                                     where=energy != 0),
        "imbalance": imb[trade]}).astype(LEG_TYPES)


def price_stats(record: MarketRecord, legs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per market and slot: rates of the legs traded there (imbalance excluded). [ct/kWh]

    ``mean``: plain mean (gsy-e's ``av_price``); ``vwap``: energy-weighted (ours). No
    trades: count 0, NaN rates."""
    legs = market_legs(record) if legs is None else legs
    m = legs[~legs["imbalance"]].groupby(["market", "slot_start"])
    stats = m["rate_ct_per_kwh"].agg(["min", "max", "mean", "median", "count"])
    stats["energy_kwh"] = m["energy_kwh"].sum()
    stats["vwap"] = m["price_ct"].sum() / stats["energy_kwh"]
    full = pd.MultiIndex.from_product([list(record.parents), record.slots()],
                                      names=["market", "slot_start"])
    stats = stats.reindex(full)
    stats[["count", "energy_kwh"]] = stats[["count", "energy_kwh"]].fillna(0)
    return stats.astype({"count": int, **dict.fromkeys(["min", "max", "mean", "median"], float)})


def trade_profile(record: MarketRecord, legs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Energy sold from seller to buyer per market and slot (imbalance excluded). [kWh]"""
    legs = market_legs(record) if legs is None else legs
    return (legs[~legs["imbalance"]]
            .groupby(["market", "slot_start", "seller", "buyer"], sort=False)["energy_kwh"]
            .sum().reset_index())


BILL_COLUMNS = ["bought_kwh", "sold_kwh", "spent_ct", "earned_ct", "total_energy_kwh",
                "total_cost_ct", "market_fee_ct"]


def market_children(record: MarketRecord, legs: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Each market's children and their gsy-e type (sub-areas, devices, externals)."""
    kids: dict[str, dict[str, str]] = {a: {} for a in record.parents}
    for a, p in [(a, p) for a, p in record.parents.items() if p is not None]:
        kids[p][a] = "Area"
    for d, k, a in zip(record.devices["device"], record.devices["kind"],
                       record.devices["area"], strict=True):
        kids[a][d] = ROLE_TYPE[KIND_ROLE[k]]
    kids[record.root].update(dict.fromkeys(EXTERNALS, "MarketMaker"))
    _, markets, parties = leg_parties(legs, "seller", "buyer")  # as they come
    for m, x in zip(markets, parties, strict=True):
        if x != m and x not in kids[m]:
            kids[m][x] = "Imbalance"
    return kids


def market_bills(record: MarketRecord, legs: pd.DataFrame | None = None) -> pd.DataFrame:
    """gsy-e's bills of every market (``MarketEnergyBills._energy_bills``), tidy.

    One row per (market, party): each child, and the market's own link (``external``),
    whose account is gsy-e's "External Trades" after its swap (it bought what the
    children sold out of the area). A leg's buyer pays the price incl. the market's fee
    (``market_fee``), its seller earns price - fee. Energies [kWh], money [ct].
    """
    legs = market_legs(record) if legs is None else legs
    e, p, f = (legs[c].to_numpy(dtype=float) for c in ("energy_kwh", "price_ct", "fee_ct"))
    code, markets, parties = leg_parties(legs, "buyer", "seller")  # booked in this order
    zero = np.zeros(len(legs))
    booked = {"bought_kwh": (e, zero), "sold_kwh": (zero, e), "spent_ct": (p - f, zero),
              "earned_ct": (zero, p - f), "total_energy_kwh": (e, -e),
              "total_cost_ct": (p, -(p - f)), "market_fee_ct": (f, zero)}
    # bincount adds in input order, like booking leg by leg
    sums = {c: np.append(np.bincount(code, interleave(*booked[c]), len(markets)), 0.0)
            for c in BILL_COLUMNS}
    at = {key: i for i, key in enumerate(zip(markets, parties, strict=True))}
    rows = []
    for m, kids in market_children(record, legs).items():
        for party, typ in [*kids.items(), (m, "External")]:
            i = at.get((m, party), -1)  # -1: nothing booked, the 0.0 appended
            rows.append({"market": m, "party": party, "type": typ,
                         "external": party == m, **{c: sums[c][i] for c in BILL_COLUMNS}})
    return pd.DataFrame(rows)
