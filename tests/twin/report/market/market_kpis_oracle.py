"""Test oracle for ``twin.report.market.kpis``: the market KPIs written again from their definitions.

An independent, deliberately plain implementation: one loop over the trades per area,
dicts keyed by name, no import of the package (not even its constants or its record
class: the record is only read, ``record.areas``, ``record.trades`` ...). Written from the
definitions in ``twin.report.market.kpis``'s module docstring and the README "KPIs" table:

- areas form a tree; an area contains itself and every area below it. A trade's ends are
  its devices (or an external, or the pseudo device "<participant>/imbalance"), placed
  in the device's area, the root (externals) or the participant's area.
- roles: load, ev = consumer; pv = producer; battery = storage; externals = buffer.
- per area, over the trades in time order (slot, then tick, ties in record order):
  produced = producer sales from inside + buffer sales to a consumer inside;
  self-consumed = producer -> consumer inside + buffer -> consumer inside + producer ->
  buffer inside (the "demanded buffer") + what the storage buffer passes on: producer ->
  storage inside fills it, storage -> consumer inside empties it into self-consumption,
  a storage sale to anyone else empties it uncounted (each at most what is in it);
  demand = the consumers' delivered energy inside (consumption only) + demanded buffer.
  Ratios are NaN without demand / production (<= 1e-8 kWh), capped at 1.
- savings (every area but the root): the participants inside, summed.
- participant bills: bought x buyer rate - sold x seller rate against a base case of
  each device's consumption at the tariff and production at the feed-in rate.

The market legs, bills per market, price statistics and trade profile are in
``market_legs_oracle``.

Arithmetic, chosen so that the comparison can be exact (``check_exact``): a sum over a
list of trades in time order is numpy's float sum of that list (``np.sum``, the order
the production docstring promises to keep); a per-party or per-(market, slot) total of
table rows is a compensated (Kahan) sum over the rows in table order, the arithmetic of
pandas' group-by sum and mean; a running total along a path is a plain ``+=``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

MARKET_MAKER, UTILITY = "market_maker", "utility"
EXTERNAL_NAMES = (MARKET_MAKER, UTILITY)
ROLE_OF_KIND = {"load": "consumer", "ev": "consumer", "pv": "producer", "battery": "storage"}
NO_ENERGY_KWH = 1e-8


def list_sum(values: list[float]) -> float:
    """numpy's sum of the values in the order given."""
    return np.sum(np.array(values, dtype=float))


def kahan_sum(values) -> float:
    """Compensated sum of the values in order, NaN skipped (pandas' group-by sum)."""
    total = compensation = 0.0
    for v in values:
        if v != v:
            continue
        y = v - compensation
        t = total + y
        compensation = t - total - y
        if compensation != compensation:
            compensation = 0.0
        total = t
    return total


def lookup(table: pd.DataFrame, key: str, value: str) -> dict:
    """{row[key]: row[value]} over the table's rows."""
    return dict(zip(table[key], table[value], strict=True))


# --- the area tree -------------------------------------------------------------------

def parent_of(record) -> dict[str, str | None]:
    """Each area's parent (None at the root), in the order of the areas table."""
    out = {}
    for row in record.areas.to_dict("records"):
        p = row["parent"]
        out[row["area"]] = p if isinstance(p, str) and p != "" else None
    return out


def root_of(parents: dict[str, str | None]) -> str:
    for area, p in parents.items():
        if p is None:
            return area
    raise ValueError("no root area")


def ancestors(parents: dict[str, str | None], area: str) -> list[str]:
    """The area, its parent, ... up to the root."""
    line = [area]
    while parents[line[-1]] is not None:
        line.append(parents[line[-1]])
    return line


def is_inside(parents, area, container) -> bool:
    """Whether ``area`` (a name or None) lies in ``container`` (itself included)."""
    return area in parents and container in ancestors(parents, area)


def path_between(parents, a: str, b: str) -> list[str]:
    """Markets from a up to the lowest common ancestor, then down to b."""
    up_a, up_b = ancestors(parents, a), ancestors(parents, b)
    for k, area in enumerate(up_a):
        if area in up_b:
            return up_a[:k + 1] + list(reversed(up_b[:up_b.index(area)]))
    raise KeyError(f"{a} and {b} share no ancestor")


# --- trades and their ends -----------------------------------------------------------

def trades_in_time_order(record) -> list[dict]:
    """The trades as dicts, sorted by (slot, tick), ties in record order; a record
    without ``trade_id`` numbers them by their row label."""
    rows = []
    for label, row in zip(record.trades.index, record.trades.to_dict("records"),
                          strict=True):
        row.setdefault("trade_id", label)
        rows.append(row)
    return sorted(rows, key=lambda r: (r["slot_start"], r["tick"]))


def origin_of(device, party: str) -> str:
    """A trade end's origin: its device, else the external, else "<party>/imbalance"."""
    if isinstance(device, str) and device != "":
        return device
    return party if party in EXTERNAL_NAMES else party + "/imbalance"


def with_ends(record, parents, trades, roles) -> list[dict]:
    """Each trade with its seller_ and buyer_ origin, area (the device's, the root for an
    external, else the participant's) and role (None for a pseudo device)."""
    kind = lookup(record.devices, "device", "kind")
    place = lookup(record.devices, "device", "area")
    home = lookup(record.participants, "participant", "area")
    out = []
    for t in trades:
        t = dict(t)
        for side in ("seller", "buyer"):
            origin = origin_of(t[side + "_device"], t[side])
            if origin in kind:
                area, role = place[origin], roles[kind[origin]]
            elif origin in EXTERNAL_NAMES:
                area, role = root_of(parents), "buffer"
            else:
                area, role = home[t[side]], None
            t[side + "_origin"], t[side + "_area"], t[side + "_role"] = origin, area, role
        out.append(t)
    return out


# --- area KPIs -----------------------------------------------------------------------

def consumed_per_area(record, roles) -> dict[str, float]:
    """Consumers' delivered consumption per area [kWh] (discharging counts 0)."""
    kind = lookup(record.devices, "device", "kind")
    place = lookup(record.devices, "device", "area")
    per_area: dict[str, list[float]] = {}
    for device, e in zip(record.energy["device"], record.energy["energy_kwh"], strict=True):
        if device in kind and roles[kind[device]] == "consumer":
            per_area.setdefault(place[device], []).append(max(e, 0.0))
    return {area: kahan_sum(values) for area, values in per_area.items()}


def flows_of_area(trades, parents, area) -> dict:
    """The energy lists of one area's KPIs and its storage buffer, trades in time order."""
    f = {"produced": [], "local": [], "from_bus": [], "to_bus": []}
    buffer_kwh = from_storage = 0.0
    for t in trades:
        if not is_inside(parents, t["seller_area"], area):
            continue
        e, seller = t["energy_kwh"], t["seller_role"]
        buyer = t["buyer_role"] if is_inside(parents, t["buyer_area"], area) else "outside"
        if seller == "producer":
            f["produced"].append(e)
            if buyer == "consumer":
                f["local"].append(e)
            elif buyer == "buffer":
                f["to_bus"].append(e)
            elif buyer == "storage":
                buffer_kwh += e
        elif seller == "buffer" and buyer == "consumer":
            f["from_bus"].append(e)
        elif seller == "storage" and buyer != "storage" and buffer_kwh > 0:
            used = min(e, buffer_kwh)
            buffer_kwh -= used
            from_storage += used if buyer == "consumer" else 0.0
    return f | {"buffer_kwh": buffer_kwh, "from_storage_kwh": from_storage}


def ratio(part: float, whole: float) -> float:
    return math.nan if whole <= NO_ENERGY_KWH else min(part / whole, 1.0)


def area_savings(record, bills: pd.DataFrame, parents, area) -> list[float]:
    """[utility bill, feed-in revenue, market cost, base case, saving, |saving %|] [ct]."""
    if parents[area] is None:  # gsy-e skips the root, where the market maker lives
        return [math.nan] * 6
    util, fit, cost = [], [], []
    for row in bills.to_dict("records"):
        if is_inside(parents, row["area"], area):
            util.append(row["utility_bill_ct"])
            fit.append(row["fit_revenue_ct"])
            cost.append(row["total_cost_ct"])
    util_ct, fit_ct, cost_ct = list_sum(util), list_sum(fit), list_sum(cost)
    base_ct = util_ct - fit_ct
    saving_ct = base_ct - cost_ct
    percent = abs(saving_ct / base_ct) * 100 if base_ct else math.nan
    return [util_ct, fit_ct, cost_ct, base_ct, saving_ct, percent]


def area_kpis(record, externals_in_root: bool = True,
              roles: dict[str, str] | None = None) -> pd.DataFrame:
    """gsy-e's KPIs of every area (index: area). Energies [kWh], money [ct]."""
    roles = {**ROLE_OF_KIND, **(roles or {})}
    parents = parent_of(record)
    trades = with_ends(record, parents, trades_in_time_order(record), roles)
    if not externals_in_root:
        for t in trades:
            for side in ("seller", "buyer"):
                if t[side + "_origin"] in EXTERNAL_NAMES:
                    t[side + "_area"] = None
    consumed = consumed_per_area(record, roles)
    bills = participant_bills(record)
    rows = {}
    for area in parents:
        f = flows_of_area(trades, parents, area)
        to_bus, from_bus = list_sum(f["to_bus"]), list_sum(f["from_bus"])
        produced = list_sum(f["produced"]) + from_bus
        self_cons = list_sum(f["local"]) + from_bus + to_bus + f["from_storage_kwh"]
        demand = list_sum([consumed.get(a, 0.0) for a in parents
                           if is_inside(parents, a, area)]) + to_bus
        rows[area] = [ratio(self_cons, demand), ratio(self_cons, produced), demand, to_bus,
                      f["buffer_kwh"], produced, self_cons,
                      *area_savings(record, bills, parents, area)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[
        "self_sufficiency", "self_consumption", "total_energy_demanded_kwh",
        "demanded_buffer_kwh", "self_consumption_buffer_kwh", "total_energy_produced_kwh",
        "total_self_consumption_kwh", "utility_bill_ct", "fit_revenue_ct", "gsy_e_cost_ct",
        "base_case_cost_ct", "saving_absolute_ct", "saving_percentage"])


# --- bills ---------------------------------------------------------------------------

def trade_sums_per_party(record) -> dict[str, dict[str, float]]:
    """Per party: totals over its purchases, then its sales, in record order. [kWh], [ct]"""
    rows: dict[str, dict[str, list[float]]] = {}
    for t in record.trades.to_dict("records"):  # every purchase first, as booked
        e, r, br = t["energy_kwh"], t["rate_ct_per_kwh"], t["buyer_rate_ct_per_kwh"]
        acc = rows.setdefault(t["buyer"], {})
        for key, v in (("bought_kwh", e), ("spent_ct", e * r), ("market_fee_ct", e * (br - r)),
                       ("paid_ct", e * br)):
            acc.setdefault(key, []).append(v)
    for t in record.trades.to_dict("records"):  # then every sale
        e, r, sr = t["energy_kwh"], t["rate_ct_per_kwh"], t["seller_rate_ct_per_kwh"]
        acc = rows.setdefault(t["seller"], {})
        for key, v in (("sold_kwh", e), ("earned_ct", e * sr), ("seller_fee_ct", e * (r - sr))):
            acc.setdefault(key, []).append(v)
    return {party: {key: kahan_sum(v) for key, v in acc.items()} for party, acc in rows.items()}


def base_case_per_participant(record) -> dict[str, tuple[float, float]]:
    """(utility bill, feed-in revenue) per participant: each device's delivered energy per
    slot, consumption at the tariff, production at the feed-in rate. [ct]"""
    owner = lookup(record.devices, "device", "participant")
    tariff = lookup(record.prices, "slot_start", "tariff_ct_per_kwh")
    feed_in = lookup(record.prices, "slot_start", "feed_in_ct_per_kwh")
    util: dict[str, list[float]] = {}
    fit: dict[str, list[float]] = {}
    for slot, device, e in zip(record.energy["slot_start"], record.energy["device"],
                               record.energy["energy_kwh"], strict=True):
        if device in owner:
            p = owner[device]
            util.setdefault(p, []).append(max(e, 0.0) * tariff.get(slot, math.nan))
            fit.setdefault(p, []).append(max(-e, 0.0) * feed_in.get(slot, math.nan))
    return {p: (kahan_sum(util[p]), kahan_sum(fit[p])) for p in util}


def participant_bills(record) -> pd.DataFrame:
    """Each participant's and external's market bill and base case (index: party).

    Paid = bought x buyer rate, spent = bought x rate, its market fee = the difference;
    earned = sold x seller rate; fee = fees on both sides; total cost = paid - earned.
    Base case: utility bill - feed-in revenue (externals: NaN); saving = base - total
    cost; saving_percent = saving / |base| x 100 (NaN on a base of 0). [kWh], [ct]
    """
    sums = trade_sums_per_party(record)
    base = base_case_per_participant(record)
    kind_of = lookup(record.participants, "participant", "type")
    area_of = lookup(record.participants, "participant", "area")
    rows = {}
    for party in [*record.participants["participant"], *EXTERNAL_NAMES]:
        s = sums.get(party, {})
        get = {k: s.get(k, 0.0) for k in ("bought_kwh", "sold_kwh", "spent_ct", "earned_ct",
                                         "market_fee_ct", "seller_fee_ct", "paid_ct")}
        member = party in kind_of
        util, fit = base.get(party, (0.0, 0.0)) if member else (math.nan, math.nan)
        base_ct = util - fit
        cost_ct = get["paid_ct"] - get["earned_ct"]
        saving_ct = base_ct - cost_ct
        rows[party] = {
            "type": kind_of[party] if member else "external",
            "area": area_of[party] if member else math.nan,
            **{k: get[k] for k in ("bought_kwh", "sold_kwh", "spent_ct", "earned_ct",
                                   "market_fee_ct")},
            "fee_ct": get["market_fee_ct"] + get["seller_fee_ct"],
            "total_energy_kwh": get["bought_kwh"] - get["sold_kwh"], "total_cost_ct": cost_ct,
            "utility_bill_ct": util, "fit_revenue_ct": fit, "base_case_cost_ct": base_ct,
            "saving_absolute_ct": saving_ct,
            "saving_percent": saving_ct / abs(base_ct) * 100 if base_ct != 0 else math.nan}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "party"
    return out
