"""Market results as gsy-e's aggregated-results JSON files, for side-by-side comparison.

``write_gsy_results(record, out_dir)`` writes kpi.json, bills.json,
price_energy_day.json and trade_profile.json into ``out_dir`` (gsy-e writes them to
``<results>/aggregated_results/``: gsy-e ``src/gsy_e/gsy_e_core/export.py``
``ExportAndPlot._export_json_data`` dumps ``SimulationEndpointBuffer.
generate_json_report()``, i.e. gsy-framework ``ResultsHandler.all_raw_results``, with
``indent=2``; we write the same JSON values, indented the same, with orjson).
The numbers come from ``twin.report.market.kpis``; see its docstring for the definitions and
our deviations. Sign convention as there: positive = consumption/import.

Keys: gsy-e keys areas by uuid in kpi.json and by name in the other three files; we
have no uuids and key all four by area (or device) name, which is unique here.
Times: ``"time"`` in price_energy_day is gsy-e's ``DATE_TIME_FORMAT`` ("YYYY-MM-DDTHH:mm",
e.g. "2024-06-01T10:00"); trade_profile keys use ``DATE_TIME_UI_FORMAT`` ("MMMM DD YYYY,
HH:mm [h]", e.g. "June 01 2024, 10:00 h"); both the slot start's local wall time.

kpi.json (gsy-framework ``sim_results/kpi.py`` ``KPI.raw_results``)::

    {area: {"name", "self_sufficiency", "self_consumption"   (ratios 0..1 or null),
            "total_energy_demanded_wh", "demanded_buffer_wh", "self_consumption_buffer_wh",
            "total_energy_produced_wh", "total_self_consumption_wh"             [Wh],
            and for every area but the root: "utility_bill", "fit_revenue",
            "gsy_e_cost", "base_case_cost", "saving_absolute"       [EUR cents],
            "saving_percentage" (|saving / base| x 100, null if base is 0)}}

bills.json (``sim_results/bills.py`` ``MarketEnergyBills.raw_results``, money in EUR)::

    {area: {child: BILL + {"type": "Area"|"Load"|"PV"|"Storage"|"MarketMaker"|"Imbalance"},
            "Accumulated Trades": BILL (sum of the children),
            "External Trades": BILL (the area's link, seen from outside),
            "Market Fees": BILL (earned = the market's fees, total_cost = -fees),
            "Totals": BILL (sum of the three: zero money and energy)},
     device: BILL + {"type"}}
    BILL = {"bought", "sold" [kWh], "spent", "earned" [EUR], "total_energy" [kWh],
            "total_cost", "market_fee" [EUR]}

price_energy_day.json (``sim_results/market_price_energy_day.py``, export path)::

    {area: {"price-currency": "Euros", "load-unit": "kWh",
            "price-energy-day": [[{"time", "min_price", "max_price", "grid_fee_constant",
                                   "av_price", "av_price_energy_weighted", "median_price",
                                   "trade_count", "traded_energy_kwh"}], ...]}}

One single-entry list per slot, as gsy-e appends each slot's list. Prices in EUR/kWh
rounded to 3 decimals (gsy-e ``round_floats_for_ui``), 0 in a slot without trades.
``grid_fee_constant`` [EUR/kWh] is the market's fee per traded kWh in the slot, null
without fees (gsy-e reads a core-stats key it never fills, so it is always null there).
``av_price`` (plain mean) is from older gsy-e versions; ``av_price_energy_weighted``,
``median_price``, ``trade_count`` and ``traded_energy_kwh`` are ours.

trade_profile.json (``sim_results/energy_trade_profile.py`` ``EnergyTradeProfile``)::

    {area: {"sold_energy": {seller: {"accumulated": {ui_time: kWh}, buyer: {ui_time: kWh}}},
            "bought_energy": {buyer: {"accumulated": {ui_time: kWh}, seller: {ui_time: kWh}}}}}

with every area present (empty dicts without trades) and a market's own link named
after it, as gsy-e names its inter-area agents.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from twin.report.market.kpis import MarketRecord, area_kpis
from twin.report.market.legs import market_bills, market_legs, price_stats, trade_profile

FILES = ("kpi", "bills", "price_energy_day", "trade_profile")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
ENERGY_TOL_KWH = 1e-5  # gsy-framework FLOATING_POINT_TOLERANCE in energy_trade_profile
KPI_FIELDS = [  # (gsy-e key, our column, factor)
    ("self_sufficiency", "self_sufficiency", 1), ("self_consumption", "self_consumption", 1),
    ("total_energy_demanded_wh", "total_energy_demanded_kwh", 1000),
    ("demanded_buffer_wh", "demanded_buffer_kwh", 1000),
    ("self_consumption_buffer_wh", "self_consumption_buffer_kwh", 1000),
    ("total_energy_produced_wh", "total_energy_produced_kwh", 1000),
    ("total_self_consumption_wh", "total_self_consumption_kwh", 1000)]
SAVING_FIELDS = [
    ("utility_bill", "utility_bill_ct"), ("fit_revenue", "fit_revenue_ct"),
    ("gsy_e_cost", "gsy_e_cost_ct"), ("base_case_cost", "base_case_cost_ct"),
    ("saving_absolute", "saving_absolute_ct"), ("saving_percentage", "saving_percentage")]
BILL_FIELDS = [  # (gsy-e key, our column, divisor: ct -> EUR)
    ("bought", "bought_kwh", 1), ("sold", "sold_kwh", 1), ("spent", "spent_ct", 100),
    ("earned", "earned_ct", 100), ("total_energy", "total_energy_kwh", 1),
    ("total_cost", "total_cost_ct", 100), ("market_fee", "market_fee_ct", 100)]


def gsy_time(ts: pd.Timestamp) -> str:
    """gsy-framework DATE_TIME_FORMAT "YYYY-MM-DDTHH:mm" of the local wall time."""
    return ts.strftime("%Y-%m-%dT%H:%M")


def gsy_ui_time(ts: pd.Timestamp) -> str:
    """gsy-framework DATE_TIME_UI_FORMAT "MMMM DD YYYY, HH:mm [h]" (English months)."""
    return f"{MONTHS[ts.month - 1]} {ts.day:02d} {ts.year}, {ts.hour:02d}:{ts.minute:02d} h"


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def kpi_results(record: MarketRecord, externals_in_root: bool = True) -> dict:
    """kpi.json's content (see the module docstring)."""
    out = {}
    for area, row in area_kpis(record, externals_in_root).iterrows():
        entry = {"name": area}
        entry |= {key: _num(row[col] * f) for key, col, f in KPI_FIELDS}
        if area != record.root:
            entry |= {key: _num(row[col]) for key, col in SAVING_FIELDS}
        out[area] = entry
    return out


def _bill(values: dict[str, float]) -> dict[str, float]:
    return {key: float(values[col]) / d for key, col, d in BILL_FIELDS}


def _sum_bills(bills: list[dict[str, float]]) -> dict[str, float]:
    return {key: sum(b[key] for b in bills) for key, _, _ in BILL_FIELDS}


def bills_results(record: MarketRecord, legs: pd.DataFrame | None = None) -> dict:
    """bills.json's content (see the module docstring)."""
    rows: dict[str, list[dict]] = {}  # market -> its rows, children first, in order
    for r in market_bills(record, legs).to_dict("records"):
        rows.setdefault(r["market"], []).append(r)
    out: dict[str, dict] = {}

    def visit(area: str) -> None:
        here = rows[area]
        entry, leaves = {}, []
        for r in [r for r in here if not r["external"]]:
            entry[r["party"]] = _bill(r) | {"type": r["type"]}
            leaves.append(r["party"])
        acc = _sum_bills([entry[p] for p in leaves])
        ext = _bill(next(r for r in here if r["external"]))
        fee = acc["market_fee"] + ext["market_fee"]
        fees = dict.fromkeys(acc, 0.0) | {"earned": fee, "total_cost": -fee}
        entry |= {"Accumulated Trades": acc, "External Trades": ext, "Market Fees": fees,
                  "Totals": _sum_bills([acc, ext, fees])}
        out[area] = entry
        for party in leaves:
            if party in record.parents:
                visit(party)
            else:
                out[party] = entry[party]

    visit(record.root)
    return out


def price_energy_day_results(record: MarketRecord, legs: pd.DataFrame | None = None) -> dict:
    """price_energy_day.json's content (see the module docstring)."""
    stats = price_stats(record, legs)
    f = record.fees.groupby(["market", "slot_start"])[["fee_ct", "energy_kwh"]].sum()
    fee_rate = (f["fee_ct"] / f["energy_kwh"]).to_dict()

    def eur(x: np.ndarray) -> list[float]:  # ct -> EUR, rounded like round(x / 100, 3)
        return np.where(np.isnan(x), 0.0, np.round(x / 100, 3)).tolist()

    slots = record.slots()
    times = [gsy_time(slot) for slot in slots]
    rows = iter(zip(*(eur(stats[c].to_numpy()) for c in ("min", "max", "mean", "vwap", "median")),
                    stats["count"].tolist(), stats["energy_kwh"].tolist(), strict=True))
    out = {}
    for market in record.parents:  # stats: markets x slots in this order
        days = []
        for slot, time in zip(slots, times, strict=True):
            lo, hi, mean, vwap, median, count, energy = next(rows)
            fee = fee_rate.get((market, slot))
            days.append([{
                "time": time, "min_price": lo, "max_price": hi,
                "grid_fee_constant": None if fee is None else fee / 100,
                "av_price": mean, "av_price_energy_weighted": vwap,
                "median_price": median, "trade_count": int(count),
                "traded_energy_kwh": float(energy)}])
        out[market] = {"price-currency": "Euros", "load-unit": "kWh",
                       "price-energy-day": days}
    return out


def trade_profile_results(record: MarketRecord, legs: pd.DataFrame | None = None) -> dict:
    """trade_profile.json's content (see the module docstring)."""
    out = {m: {"sold_energy": {}, "bought_energy": {}} for m in record.parents}
    tp = trade_profile(record, legs)
    slot, slots = pd.factorize(tp["slot_start"])
    times = np.array([gsy_ui_time(s) for s in slots], dtype=object)[slot]
    energy = tp["energy_kwh"].to_numpy()
    for market, seller, buyer, t, keep, e in zip(
            tp["market"].tolist(), tp["seller"].tolist(), tp["buyer"].tolist(), times.tolist(),
            (energy > ENERGY_TOL_KWH).tolist(), energy.tolist(), strict=True):
        for side, one, other in ((out[market]["sold_energy"], seller, buyer),
                                 (out[market]["bought_energy"], buyer, seller)):
            node = side.get(one)
            if node is None:
                node = side[one] = {"accumulated": {}}
            if other not in node:
                node[other] = {}
            if keep:
                for key in ("accumulated", other):
                    node[key][t] = node[key].get(t, 0.0) + e
    return out


def gsy_results(record: MarketRecord, externals_in_root: bool = True) -> dict[str, dict]:
    """The four files' contents, by file stem."""
    legs = market_legs(record)
    return {"kpi": kpi_results(record, externals_in_root),
            "bills": bills_results(record, legs),
            "price_energy_day": price_energy_day_results(record, legs),
            "trade_profile": trade_profile_results(record, legs)}


def write_gsy_results(record: MarketRecord, out_dir: str | Path,
                      externals_in_root: bool = True) -> dict[str, Path]:
    """Write kpi.json, bills.json, price_energy_day.json, trade_profile.json; their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    legs = market_legs(record)
    builders = {"kpi": lambda: kpi_results(record, externals_in_root),
                "bills": lambda: bills_results(record, legs),
                "price_energy_day": lambda: price_energy_day_results(record, legs),
                "trade_profile": lambda: trade_profile_results(record, legs)}
    paths = {}
    for stem, build in builders.items():  # one file's content in memory at a time
        paths[stem] = out / f"{stem}.json"
        paths[stem].write_bytes(dump_bytes(build()))
    return paths


JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dump_bytes(obj) -> bytes:
    """``obj`` as JSON indented by 2 (gsy-e's layout), UTF-8; NaN and infinities as
    ``null`` (valid JSON, as JSON has no NaN). orjson: a year's files in seconds."""
    return orjson.dumps(obj, option=JSON_OPTIONS)


def dumps(obj) -> str:
    """:func:`dump_bytes` as text: the same JSON values as ``json.dumps(obj, indent=2)``
    (numbers in their shortest form, non-ASCII characters as they are)."""
    return dump_bytes(obj).decode("utf-8")
