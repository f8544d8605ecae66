"""Local energy market KPIs with Grid Singularity's own definitions (pure pandas).

Units: energies kWh, rates ct/kWh, money EUR cents (``_ct``); gsy-e's units (Wh, EUR)
appear only in the exported files (``twin.report.market.gsy_export``). Sign convention of ``energy``:
positive = consumption / charging, negative = production / discharging.

Areas form a tree (house -> LV feeder -> MV root). As in gsy-e, a trade is recorded in
every market on its path from the seller's area to the buyer's; the inter-area agent
carrying it across a boundary is named after its area (gsy-framework
``area_name_from_area_or_ma_name``): a house is a child in its feeder's market and its
own link in its house market. ``market_legs`` (:mod:`twin.report.market.legs`) expands
our one-row-per-trade record into those legs. A leg's price is what its buyer pays: the
seller's net amount plus the fees of the markets from the seller's end up to and
including that market, so each market keeps its own fee (gsy-e's ``fee_price``).
"market_maker" and "utility" sit in the root like gsy-e's InfiniteBus (sells at the
tariff, buys at the feed-in rate).

Definitions followed (gridsingularity/gsy-framework, ``gsy_framework/sim_results/``):

- ``kpi.py`` ``KPIState`` / ``SavingsKPI`` / ``KPI._post_process_savings_kpis`` and
  ``kpi_calculation_helper.py``. Per area, over its devices at any depth: produced =
  energy sold by producers; self-consumed = producer -> consumer inside the area; a
  producer -> storage trade inside the area fills ``self_consumption_buffer``, a storage
  -> consumer trade inside the area empties it into self-consumption (at most what is in
  it), a storage sale to anyone else empties it uncounted; an InfiniteBus inside the
  area (our externals, at the root only) counts as production when it sells to a
  consumer and as ``demanded_buffer`` when it buys from a producer, both self-consumed.
  Demand = consumers' energy + demanded buffer. Ratios are None without demand or
  production, capped at 1. Savings (every area but the root, summed up the tree):
  ``utility_bill`` = consumption x tariff, ``fit_revenue`` = production x feed-in,
  ``base_case_cost`` = their difference, ``gsy_e_cost`` = the market bill,
  ``saving_absolute`` = base - market bill, ``saving_percentage`` = |saving / base| x 100.
- Node types (``sim_results/__init__.py``): pv = producer, load = consumer, battery =
  storage ("prosumer"); the externals = InfiniteBus ("buffer").
- ``bills.py`` ``MarketEnergyBills``: per market, each child's bought/sold/spent/earned/
  total_energy/total_cost/market_fee; a buyer's ``spent`` = price - fee_price, its
  ``market_fee`` = fee_price, a seller's ``earned`` = price - fee_price; the area's own
  link as "External Trades" seen from outside.
- ``market_price_energy_day.py``: per market and slot, min / max of the trades' rates
  (older versions also ``av_price``, the plain mean); ``energy_trade_profile.py``.

Deviations and why:

- ev counts as a consumer (gsy-e has no EV type; a V2G sale is then neither production
  nor buffer dissipation; override with ``roles``). Demand is the consumers' delivered
  ``energy`` (gsy-e: the load profile's demand).
- Trades are processed in time order (slot, tick); gsy-e walks markets one by one within
  a slot. gsy-e's code checks a trade in each traced house market (houses with a PV or
  load): a PV -> storage trade counts twice in a feeder when the storage's own house is
  traced too, and the "sold outside" branch is almost never reached (it needs the
  buyer's own market to be traced). We apply the rule once per trade, as its comments say.
- The base case uses the delivered ``energy`` per device and slot at ``prices`` (gsy-e:
  the devices' traded energy at the market-maker rate / feed-in tariff plus / minus the
  grid fees from root to the area). Like gsy-e it is gross per device, no netting.
- Imbalance settlements (market "imbalance") are money and energy flows: they enter the
  bills, savings and KPIs (a named device is its origin; without one the pseudo device
  "<participant>/imbalance", which has no role) but not the price statistics or the
  trade profile, which describe the market only. gsy-e has no such settlement.
- Externals in the root push the root's KPIs to ~1.0, as in gsy-e (integration test
  "root area self sufficient with InfiniteBus"); ``externals_in_root=False`` puts them
  outside every area: the community's own figures at the root.
- Fees per leg come from ``fees`` rows with the trade's ``trade_id`` when both tables
  carry one; else from the slot's average fee rate of that market. Whatever differs from
  energy x (buyer rate - seller rate) goes to the matching market (root for imbalance).

Implementation: areas are integer codes on a tree (``twin.report.market.kpis_fast``); an area's
trades are the pairs (area on the seller's lineage, trade), the buyer is inside when the
area is no deeper than their lowest common ancestor, and the storage buffer runs per area
over the trades that touch it. Sums add the same numbers in the same order as a per-area
scan: bit-identical to the independent plain-loop definitions in
tests/twin/report/market/market_kpis_oracle.py and market_legs_oracle.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from twin.report.market.kpis_fast import AreaTree, group_sums, objects, pair_codes

EXTERNALS = ("market_maker", "utility")
IMBALANCE = "imbalance"
KIND_ROLE = {"load": "consumer", "pv": "producer", "battery": "storage", "ev": "consumer"}
ROLE_TYPE = {"consumer": "Load", "producer": "PV", "storage": "Storage",
             "buffer": "MarketMaker"}  # gsy-framework get_unified_area_type
ROLE_CODE = {role: code for code, role in enumerate(ROLE_TYPE)}  # anything else: -1
TOL_KWH = 1e-8  # gsy-framework FLOATING_POINT_TOLERANCE is 1e-5 Wh


@dataclass(frozen=True, eq=False)
class MarketRecord:
    """Everything the market recorded in a run.

    areas [area, parent, level]; devices [device, participant, kind, area];
    participants [participant, type, area]; trades [slot_start, tick, market, buyer,
    seller, buyer_device, seller_device, energy_kwh, rate_ct_per_kwh,
    buyer_rate_ct_per_kwh, seller_rate_ct_per_kwh] (+ optional trade_id); fees
    [slot_start, market, energy_kwh, fee_ct] (+ optional trade_id); energy [slot_start,
    device, energy_kwh]; prices [slot_start, tariff_ct_per_kwh, feed_in_ct_per_kwh].
    For ``twin.report.market.bills``: stored (battery end - start), site (meter, losses).
    """

    areas: pd.DataFrame
    devices: pd.DataFrame
    participants: pd.DataFrame
    trades: pd.DataFrame
    fees: pd.DataFrame
    energy: pd.DataFrame
    prices: pd.DataFrame
    stored: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[
        "participant", "device", "stored_change_kwh"]))  # kWh
    site: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[
        "slot_start", "import_kwh", "loss_kwh"]))  # kWh per slot

    @cached_property
    def parents(self) -> dict[str, str | None]:
        return {a: (p if isinstance(p, str) and p else None)
                for a, p in zip(self.areas["area"], self.areas["parent"], strict=True)}

    @cached_property
    def root(self) -> str:
        return next(a for a, p in self.parents.items() if p is None)

    @cached_property
    def lineage(self) -> dict[str, list[str]]:
        """Each area and its ancestors up to the root."""
        out = {}
        for area in self.parents:
            line = [area]
            while self.parents[line[-1]] is not None:
                line.append(self.parents[line[-1]])
            out[area] = line
        return out

    @cached_property
    def tree(self) -> AreaTree:
        """The areas as integer codes (``twin.report.market.kpis_fast``)."""
        return AreaTree(self.lineage)

    def slots(self) -> list[pd.Timestamp]:
        return sorted(set(self.prices["slot_start"].unique())
                      | set(self.trades["slot_start"].unique()))


def sorted_trades(record: MarketRecord) -> pd.DataFrame:
    """The record's trades in time order (slot, tick), each with a ``trade_id`` (its row
    number where the record has none)."""
    t = record.trades.copy()
    if "trade_id" not in t.columns:
        t["trade_id"] = t.index
    return t.sort_values(["slot_start", "tick"], kind="stable").reset_index(drop=True)


def _origin(device: str, party: str) -> str:
    named = isinstance(device, str) and device
    return device if named else party if party in EXTERNALS else f"{party}/imbalance"


def side_origins(record: MarketRecord, trades: pd.DataFrame, side: str,
                  roles: dict[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One side's origin, its area and its role per trade (object arrays), worked out
    once per distinct (device, party)."""
    dev = record.devices.set_index("device")
    home = record.participants.set_index("participant")["area"]
    code, devices, parties = pair_codes(trades[f"{side}_device"], trades[side])
    origin = [_origin(d, p) for d, p in zip(devices, parties, strict=True)]
    loc = [dev.at[o, "area"] if o in dev.index else record.root if o in EXTERNALS else home[p]
           for o, p in zip(origin, parties, strict=True)]
    role = [roles[dev.at[o, "kind"]] if o in dev.index else "buffer" if o in EXTERNALS else None
            for o in origin]
    return tuple(objects(x)[code] for x in (origin, loc, role))


def trade_origins(record: MarketRecord, trades: pd.DataFrame,
                  roles: dict[str, str] = KIND_ROLE) -> pd.DataFrame:
    """Seller / buyer origin (device, external or pseudo device), its area and role."""
    out = pd.DataFrame(index=trades.index)
    for side in ("seller", "buyer"):
        for name, values in zip(("origin", "loc", "role"),
                                side_origins(record, trades, side, roles), strict=True):
            out[f"{side}_{name}"] = values
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
    t, tree = sorted_trades(record), record.tree
    loc, role = {}, {}
    for side in ("seller", "buyer"):
        origin, where, kind = side_origins(record, t, side, roles)
        loc[side] = tree.codes(where)
        if not externals_in_root:
            loc[side][pd.Series(origin, dtype=object).isin(EXTERNALS).to_numpy()] = -1
        role[side] = pd.Series(kind, dtype=object).map(ROLE_CODE).fillna(-1).to_numpy(int)
    # one pair per (area, trade whose seller is inside it), areas ascending, trades in order
    items, bounds = tree.members(loc["seller"])
    area = np.repeat(np.arange(len(tree)), np.diff(bounds))
    b_in = tree.depth[area] <= tree.lca_depth(loc["seller"], loc["buyer"])[items]
    e = t["energy_kwh"].to_numpy(dtype=float)[items]
    sr, br = role["seller"][items], role["buyer"][items]
    cons, prod, stor, buf = (ROLE_CODE[r] for r in ("consumer", "producer", "storage", "buffer"))
    b_cons, b_stor = b_in & (br == cons), b_in & (br == stor)
    produced = group_sums(e, bounds, sr == prod)
    from_bus = group_sums(e, bounds, (sr == buf) & b_cons)
    to_bus = group_sums(e, bounds, (sr == prod) & b_in & (br == buf))
    local = group_sums(e, bounds, (sr == prod) & b_cons)
    fill, to_local = (sr == prod) & b_stor, (sr == stor) & b_cons
    to_other = (sr == stor) & ~b_stor & ~b_cons
    busy = np.flatnonzero(fill | to_local | to_other)
    cut = np.searchsorted(busy, bounds)
    en = record.energy.merge(record.devices, on="device")
    en = en[en["kind"].map(roles) == "consumer"]
    consumed = en["energy_kwh"].clip(lower=0).groupby(en["area"]).sum()  # per house
    inner, inner_bounds = tree.members(np.arange(len(tree)))  # areas inside each area
    demand = group_sums(consumed.reindex(tree.names).fillna(0.0).to_numpy()[inner],
                         inner_bounds)
    savings = _area_savings(record, participant_bills(record))
    rows = {}
    for a, name in enumerate(tree.names):
        at = busy[cut[a]:cut[a + 1]]
        left, from_storage = _storage_buffer(*(x[at].tolist() for x in (
            e, fill, to_local, to_other)))
        produced_a = produced[a] + from_bus[a]
        self_cons = local[a] + from_bus[a] + to_bus[a] + from_storage
        demand_a = demand[a] + to_bus[a]
        rows[name] = {
            "self_sufficiency": _ratio(self_cons, demand_a),
            "self_consumption": _ratio(self_cons, produced_a), "total_energy_demanded_kwh":
            demand_a, "demanded_buffer_kwh": to_bus[a], "self_consumption_buffer_kwh": left,
            "total_energy_produced_kwh": produced_a, "total_self_consumption_kwh": self_cons,
        } | savings[a]
    return pd.DataFrame.from_dict(rows, orient="index")


SAVING_COLUMNS = ["utility_bill_ct", "fit_revenue_ct", "gsy_e_cost_ct", "base_case_cost_ct",
                  "saving_absolute_ct", "saving_percentage"]


def _area_savings(record: MarketRecord, bills: pd.DataFrame) -> list[dict]:
    """Each area's savings: its participants' bills summed, in ``bills`` order."""
    tree = record.tree
    items, bounds = tree.members(tree.codes(bills["area"]))
    sums = [group_sums(bills[c].to_numpy(dtype=float)[items], bounds)
            for c in ("utility_bill_ct", "fit_revenue_ct", "total_cost_ct")]
    out = []
    for a, (util, fit, cost) in enumerate(zip(*sums, strict=True)):
        if a == tree.root:  # gsy-e skips the root: the market maker lives there
            out.append(dict.fromkeys(SAVING_COLUMNS, float("nan")))
            continue
        base = util - fit
        saving = base - cost
        pct = abs(saving / base) * 100 if base else float("nan")  # gsy-e: abs()
        out.append(dict(zip(SAVING_COLUMNS, [util, fit, cost, base, saving, pct], strict=True)))
    return out


def participant_bills(record: MarketRecord) -> pd.DataFrame:
    """gsy-e's view of each participant's and external's bill and base case (index:
    party), behind ``gsy/kpi.json``'s savings; the bills at the meters (``bills.csv``:
    self-pairs netted, stored-energy neutral) are ``twin.report.market.bills.meter_bills``.

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
