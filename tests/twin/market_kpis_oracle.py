"""Test oracle: twin.market_kpis as it was before the array rewrite (commit 2d59cdb).

The straightforward per-area / per-trade definitions, kept verbatim so that the fast code
in ``twin.market_kpis`` (and ``twin.market_kpis_fast``) can be checked against them
(tests/twin/test_market_kpis_oracle.py, benchmarks/bench_market_kpis.py). Slow on large
records: ``area_kpis`` scans every trade once per area (about a minute for 1,000 houses).
The record class and the constants are shared with the package; nothing else is.
"""

from __future__ import annotations

import pandas as pd

from twin.market_kpis import (
    EXTERNALS,
    IMBALANCE,
    KIND_ROLE,
    ROLE_TYPE,
    SAVING_COLUMNS,
    TOL_KWH,
    MarketRecord,
)


def _sorted_trades(record: MarketRecord) -> pd.DataFrame:
    t = record.trades.copy()
    if "trade_id" not in t.columns:
        t["trade_id"] = t.index
    return t.sort_values(["slot_start", "tick"], kind="stable").reset_index(drop=True)


def _origin(device: str, party: str) -> str:
    named = isinstance(device, str) and device
    return device if named else party if party in EXTERNALS else f"{party}/imbalance"


def trade_origins(record: MarketRecord, trades: pd.DataFrame,
                  roles: dict[str, str] = KIND_ROLE) -> pd.DataFrame:
    """Seller / buyer origin (device, external or pseudo device), its area and role."""
    dev = record.devices.set_index("device")
    home = record.participants.set_index("participant")["area"]
    out = pd.DataFrame(index=trades.index)
    for side in ("seller", "buyer"):
        origin = [_origin(d, p) for d, p in zip(trades[f"{side}_device"], trades[side],
                                                 strict=True)]
        out[f"{side}_origin"] = origin
        out[f"{side}_loc"] = [dev.at[o, "area"] if o in dev.index else
                              record.root if o in EXTERNALS else home[p]
                              for o, p in zip(origin, trades[side], strict=True)]
        out[f"{side}_role"] = [roles[dev.at[o, "kind"]] if o in dev.index else
                               "buffer" if o in EXTERNALS else None for o in origin]
    return out


def _storage_buffer(energy, fill, to_local, to_other) -> tuple[float, float]:
    """gsy-e's self-consumption buffer over the trades in order: (left, self-consumed)."""
    left = counted = 0.0
    for e, f, loc, oth in zip(energy, fill, to_local, to_other, strict=True):
        if f:
            left += e
        elif (loc or oth) and left > 0:
            used = min(e, left)
            left -= used
            counted += used if loc else 0.0
    return left, counted


def _ratio(part: float, whole: float) -> float:
    return float("nan") if whole <= TOL_KWH else min(part / whole, 1.0)


def area_kpis(record: MarketRecord, externals_in_root: bool = True,
              roles: dict[str, str] | None = None) -> pd.DataFrame:
    """gsy-e's KPIs of every area (index: area). Energies [kWh], money [ct]."""
    roles = {**KIND_ROLE, **(roles or {})}
    t = _sorted_trades(record)
    o = trade_origins(record, t, roles)
    for side in ("seller", "buyer") if not externals_in_root else ():
        o.loc[o[f"{side}_origin"].isin(EXTERNALS), f"{side}_loc"] = None
    e = t["energy_kwh"].to_numpy()
    en = record.energy.merge(record.devices, on="device")
    en = en[en["kind"].map(roles) == "consumer"]
    consumed = en["energy_kwh"].clip(lower=0).groupby(en["area"]).sum()  # per house
    bills = participant_bills(record)
    rows = {}
    for area in record.parents:
        inside = [x for x in record.parents if area in record.lineage[x]]
        s_in = o["seller_loc"].isin(inside).to_numpy()
        b_in = o["buyer_loc"].isin(inside).to_numpy()
        s = {r: s_in & (o["seller_role"] == r).to_numpy() for r in ROLE_TYPE}
        b = {r: b_in & (o["buyer_role"] == r).to_numpy() for r in ROLE_TYPE}
        from_bus, to_bus = s["buffer"] & b["consumer"], b["buffer"] & s["producer"]
        left, from_storage = _storage_buffer(
            e, s["producer"] & b["storage"], s["storage"] & b["consumer"],
            s["storage"] & ~b["storage"] & ~b["consumer"])
        produced = e[s["producer"]].sum() + e[from_bus].sum()
        self_cons = (e[s["producer"] & b["consumer"]].sum() + e[from_bus].sum()
                     + e[to_bus].sum() + from_storage)
        demand = consumed.reindex(inside).sum() + e[to_bus].sum()
        rows[area] = {
            "self_sufficiency": _ratio(self_cons, demand),
            "self_consumption": _ratio(self_cons, produced), "total_energy_demanded_kwh":
            demand, "demanded_buffer_kwh": e[to_bus].sum(), "self_consumption_buffer_kwh":
            left, "total_energy_produced_kwh": produced, "total_self_consumption_kwh":
            self_cons} | _area_savings(record, bills, area)
    return pd.DataFrame.from_dict(rows, orient="index")



def _area_savings(record: MarketRecord, bills: pd.DataFrame, area: str) -> dict:
    if area == record.root:  # gsy-e skips the root: the market maker lives there
        return dict.fromkeys(SAVING_COLUMNS, float("nan"))
    members = bills[bills["area"].map(
        lambda a: isinstance(a, str) and area in record.lineage[a])]
    util, fit = members["utility_bill_ct"].sum(), members["fit_revenue_ct"].sum()
    cost = members["total_cost_ct"].sum()
    base = util - fit
    saving = base - cost
    pct = abs(saving / base) * 100 if base else float("nan")  # gsy-e: abs()
    return dict(zip(SAVING_COLUMNS, [util, fit, cost, base, saving, pct], strict=True))


def participant_bills(record: MarketRecord) -> pd.DataFrame:
    """Each participant's and external's market bill and base case (index: party).

    ``spent_ct`` = bought energy x market rate, ``market_fee_ct`` = fees on its purchases
    (buyer rate - rate), ``earned_ct`` = sold energy x seller rate (net of the fees on
    its side), ``fee_ct`` = all grid fees it bore, ``total_cost_ct`` = paid - earned.
    Base case per participant: its devices' delivered energy per slot, consumption at the
    tariff, production at the feed-in rate; ``saving_percent`` keeps the sign (gsy-e's
    ``saving_percentage`` in ``area_kpis`` is an absolute value).
    """
    t = record.trades
    e = t["energy_kwh"]
    buy = pd.DataFrame({"party": t["buyer"], "bought_kwh": e,
                        "spent_ct": e * t["rate_ct_per_kwh"],
                        "market_fee_ct": e * (t["buyer_rate_ct_per_kwh"] - t["rate_ct_per_kwh"]),
                        "paid_ct": e * t["buyer_rate_ct_per_kwh"]})
    sell = pd.DataFrame({"party": t["seller"], "sold_kwh": e,
                         "earned_ct": e * t["seller_rate_ct_per_kwh"],
                         "seller_fee_ct": e * (t["rate_ct_per_kwh"]
                                               - t["seller_rate_ct_per_kwh"])})
    members = list(record.participants["participant"])
    parties = pd.Index(members + list(EXTERNALS), name="party")
    b = pd.concat([buy, sell]).groupby("party").sum().reindex(parties).fillna(0.0)
    out = record.participants.set_index("participant")[["type", "area"]].reindex(parties)
    out["type"] = out["type"].fillna("external")
    cols = ["bought_kwh", "sold_kwh", "spent_ct", "earned_ct", "market_fee_ct"]
    out[cols] = b[cols]
    out["fee_ct"] = b["market_fee_ct"] + b["seller_fee_ct"]
    out["total_energy_kwh"] = b["bought_kwh"] - b["sold_kwh"]
    out["total_cost_ct"] = b["paid_ct"] - b["earned_ct"]
    en = record.energy.merge(record.devices[["device", "participant"]], on="device")
    en = en.merge(record.prices, on="slot_start", how="left")
    en["utility_bill_ct"] = en["energy_kwh"].clip(lower=0) * en["tariff_ct_per_kwh"]
    en["fit_revenue_ct"] = (-en["energy_kwh"]).clip(lower=0) * en["feed_in_ct_per_kwh"]
    cols = ["utility_bill_ct", "fit_revenue_ct"]  # externals: NaN
    out[cols] = en.groupby("participant")[cols].sum().reindex(members, fill_value=0.0)
    out["base_case_cost_ct"] = out["utility_bill_ct"] - out["fit_revenue_ct"]
    out["saving_absolute_ct"] = out["base_case_cost_ct"] - out["total_cost_ct"]
    base_ct = out["base_case_cost_ct"].where(out["base_case_cost_ct"] != 0)
    out["saving_percent"] = out["saving_absolute_ct"] / base_ct.abs() * 100
    return out



def _path(record: MarketRecord, a: str, b: str) -> list[str]:
    """Areas from a up to the lowest common ancestor and down to b."""
    up_a, up_b = record.lineage[a], record.lineage[b]
    common = next(x for x in up_a if x in up_b)
    return up_a[:up_a.index(common) + 1] + up_b[:up_b.index(common)][::-1]


def _leg_fees(record: MarketRecord):
    """fee(trade_id, slot, market, energy) -> this market's fee on the trade. [ct]"""
    f = record.fees
    if "trade_id" in f.columns and "trade_id" in record.trades.columns:
        linked = f.groupby(["trade_id", "market"])["fee_ct"].sum().to_dict()
        return lambda tid, slot, market, e: linked.get((tid, market), 0.0)
    g = f.groupby(["slot_start", "market"])[["fee_ct", "energy_kwh"]].sum()
    rate = (g["fee_ct"] / g["energy_kwh"]).to_dict()
    return lambda tid, slot, market, e: rate.get((slot, market), 0.0) * e


def market_legs(record: MarketRecord) -> pd.DataFrame:
    """The trades as gsy-e records them, one row per market on each trade's path.

    Columns: trade_id, slot_start, tick, market, seller, buyer (the child, device,
    external or the market's own link named after it), seller_origin, buyer_origin,
    energy_kwh, price_ct (what the leg's buyer pays), fee_ct (this market's fee),
    rate_ct_per_kwh (price / energy, gsy-e's ``energy_rate``), imbalance.
    """
    t = _sorted_trades(record)
    o = trade_origins(record, t)
    parents, fee_of = record.parents, _leg_fees(record)
    rows = []
    cols = [t[c] for c in ("trade_id", "slot_start", "tick", "market", "energy_kwh",
                           "buyer_rate_ct_per_kwh", "seller_rate_ct_per_kwh")]
    cols += [o[c] for c in ("seller_origin", "buyer_origin", "seller_loc", "buyer_loc")]
    for tid, slot, tick, market, e, br, sr, s_org, b_org, s_loc, b_loc in zip(
            *cols, strict=True):
        path, imb = _path(record, s_loc, b_loc), market == IMBALANCE
        fees = [0.0 if imb else fee_of(tid, slot, m, e) for m in path]
        home = market if market in path else record.root
        fees[path.index(home) if home in path else 0] += e * (br - sr) - sum(fees)
        price = e * sr
        for k, m in enumerate(path):
            price += fees[k]
            seller = s_org if k == 0 else path[k - 1] if parents[path[k - 1]] == m else m
            buyer = b_org if k == len(path) - 1 else (
                path[k + 1] if parents[path[k + 1]] == m else m)
            rows.append((tid, slot, tick, m, seller, buyer, s_org, b_org, e, price, fees[k],
                         price / e if e else 0.0, imb))
    return pd.DataFrame(rows, columns=[
        "trade_id", "slot_start", "tick", "market", "seller", "buyer", "seller_origin",
        "buyer_origin", "energy_kwh", "price_ct", "fee_ct", "rate_ct_per_kwh", "imbalance"]
    ).astype({"energy_kwh": float, "price_ct": float, "fee_ct": float, "imbalance": bool})


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
    for m, s, b in zip(legs["market"], legs["seller"], legs["buyer"], strict=True):
        for x in (s, b):
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
    acc: dict[tuple[str, str], dict[str, float]] = {}

    def book(market, party, **amounts):
        row = acc.setdefault((market, party), dict.fromkeys(BILL_COLUMNS, 0.0))
        for k, v in amounts.items():
            row[k] += v

    for m, s, b, e, p, f in zip(legs["market"], legs["seller"], legs["buyer"],
                                legs["energy_kwh"], legs["price_ct"], legs["fee_ct"],
                                strict=True):
        book(m, b, bought_kwh=e, spent_ct=p - f, total_cost_ct=p, total_energy_kwh=e,
             market_fee_ct=f)
        book(m, s, sold_kwh=e, earned_ct=p - f, total_cost_ct=-(p - f), total_energy_kwh=-e)
    rows = []
    for m, kids in market_children(record, legs).items():
        for party, typ in [*kids.items(), (m, "External")]:
            r = acc.get((m, party), dict.fromkeys(BILL_COLUMNS, 0.0))
            rows.append({"market": m, "party": party, "type": typ,
                         "external": party == m, **{c: r[c] for c in BILL_COLUMNS}})
    return pd.DataFrame(rows)
