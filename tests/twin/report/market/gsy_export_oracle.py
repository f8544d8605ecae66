"""Test oracle for ``twin.report.market.gsy_export``: gsy-e's four aggregated-results files, written again.

Built the plain way from the file layouts in ``twin.report.market.gsy_export``'s module docstring, on
top of the independent KPIs of ``market_kpis_oracle``: one area (and one market and
slot) at a time, dicts filled in the order gsy-e writes them, ``json.dump(indent=2)``.
Nothing is imported from the package: the key names, units, time formats and the
rounding are spelled out here.

- kpi.json: per area its name, the two ratios, the energies in Wh (kWh x 1000) and,
  but for the root, the savings in EUR cents; NaN becomes null.
- bills.json: per market each child's bill (money in EUR = ct / 100) and type, then
  "Accumulated Trades" (the children summed), "External Trades" (the market's own
  link), "Market Fees" (earned = the fees, total_cost = -fees) and "Totals" (the three
  summed); walked from the root down, every child that is no area listed on its own.
- price_energy_day.json: per market one single-entry list per slot; prices in EUR/kWh
  rounded to 3 decimals, 0 without trades; grid_fee_constant = the market's fees /
  fee energy in the slot [EUR/kWh], null without fees.
- trade_profile.json: per market, sold and bought energy per counterpart and in total,
  keyed by the slot's UI time; amounts of 1e-5 kWh or less leave the counterpart empty.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from tests.twin.report.market.market_kpis_oracle import area_kpis, kahan_sum, parent_of, root_of
from tests.twin.report.market.market_legs_oracle import (
    market_bills,
    market_legs,
    price_stats,
    trade_profile,
)

MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]
SHOWN_KWH = 1e-5  # gsy-framework's FLOATING_POINT_TOLERANCE in the trade profile
RATIO_KEYS = ["self_sufficiency", "self_consumption"]
WH_KEYS = ["total_energy_demanded", "demanded_buffer", "self_consumption_buffer",
           "total_energy_produced", "total_self_consumption"]  # + "_wh", from the _kwh columns
SAVING_KEYS = {"utility_bill": "utility_bill_ct", "fit_revenue": "fit_revenue_ct",
               "gsy_e_cost": "gsy_e_cost_ct", "base_case_cost": "base_case_cost_ct",
               "saving_absolute": "saving_absolute_ct", "saving_percentage": "saving_percentage"}
BILL_KWH = {"bought": "bought_kwh", "sold": "sold_kwh", "total_energy": "total_energy_kwh"}
BILL_CT = {"spent": "spent_ct", "earned": "earned_ct", "total_cost": "total_cost_ct",
           "market_fee": "market_fee_ct"}
BILL_ORDER = ["bought", "sold", "spent", "earned", "total_energy", "total_cost", "market_fee"]


def local_minute(ts) -> str:
    """"YYYY-MM-DDTHH:mm" of the local wall time (gsy-framework DATE_TIME_FORMAT)."""
    return f"{ts.year:04d}-{ts.month:02d}-{ts.day:02d}T{ts.hour:02d}:{ts.minute:02d}"


def ui_minute(ts) -> str:
    """"June 01 2024, 10:00 h" (gsy-framework DATE_TIME_UI_FORMAT)."""
    return f"{MONTH_NAMES[ts.month - 1]} {ts.day:02d} {ts.year}, {ts.hour:02d}:{ts.minute:02d} h"


def null_if_nan(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def kpi_results(record, externals_in_root: bool = True) -> dict:
    """kpi.json's content."""
    root = root_of(parent_of(record))
    out = {}
    for area, row in area_kpis(record, externals_in_root).to_dict("index").items():
        entry = {"name": area}
        for key in RATIO_KEYS:
            entry[key] = null_if_nan(row[key])
        for key in WH_KEYS:
            entry[key + "_wh"] = null_if_nan(row[key + "_kwh"] * 1000)
        if area != root:
            for key, col in SAVING_KEYS.items():
                entry[key] = null_if_nan(row[col])
        out[area] = entry
    return out


def bill_in_eur(row: dict) -> dict[str, float]:
    """One bills row as gsy-e's BILL: energies [kWh], money [EUR]."""
    bill = {}
    for key in BILL_ORDER:
        if key in BILL_KWH:
            bill[key] = float(row[BILL_KWH[key]])
        else:
            bill[key] = float(row[BILL_CT[key]]) / 100
    return bill


def added(bills: list[dict[str, float]]) -> dict[str, float]:
    total = {}
    for key in BILL_ORDER:
        total[key] = 0
        for b in bills:
            total[key] += b[key]
    return total


def market_entry(rows: list[dict]) -> tuple[dict, list[str]]:
    """One market's bills.json entry and its children, from its bills rows."""
    entry, children, link = {}, [], None
    for r in rows:
        if r["external"]:
            link = bill_in_eur(r)
        else:
            entry[r["party"]] = bill_in_eur(r) | {"type": r["type"]}
            children.append(r["party"])
    accumulated = added([entry[c] for c in children])
    fee = accumulated["market_fee"] + link["market_fee"]
    fees = dict.fromkeys(BILL_ORDER, 0.0)
    fees["earned"], fees["total_cost"] = fee, -fee
    entry["Accumulated Trades"], entry["External Trades"] = accumulated, link
    entry["Market Fees"], entry["Totals"] = fees, added([accumulated, link, fees])
    return entry, children


def bills_results(record, legs=None) -> dict:
    """bills.json's content: markets depth first from the root, each followed by its
    children (a sub-area with everything below it)."""
    parents = parent_of(record)
    by_market: dict[str, list[dict]] = {}
    for r in market_bills(record, legs).to_dict("records"):
        by_market.setdefault(r["market"], []).append(r)
    out: dict[str, dict] = {}

    def walk(market: str) -> None:
        entry, children = market_entry(by_market[market])
        out[market] = entry
        for child in children:
            if child in parents:
                walk(child)
            else:
                out[child] = entry[child]

    walk(root_of(parents))
    return out


def eur_rounded(ct_per_kwh: float) -> float:
    return 0.0 if math.isnan(ct_per_kwh) else round(ct_per_kwh / 100, 3)


def fee_per_kwh(record) -> dict[tuple, float]:
    """(market, slot) -> fees / energy of its fee rows [ct/kWh]."""
    rows: dict[tuple, tuple[list[float], list[float]]] = {}
    for f in record.fees.to_dict("records"):
        ct, kwh = rows.setdefault((f["market"], f["slot_start"]), ([], []))
        ct.append(f["fee_ct"])
        kwh.append(f["energy_kwh"])
    return {key: kahan_sum(ct) / kahan_sum(kwh) for key, (ct, kwh) in rows.items()}


def price_energy_day_results(record, legs=None) -> dict:
    """price_energy_day.json's content."""
    stats = price_stats(record, legs).to_dict("index")
    fee_rate = fee_per_kwh(record)
    slots = sorted(set(record.prices["slot_start"]) | set(record.trades["slot_start"]))
    out = {}
    for market in parent_of(record):
        days = []
        for slot in slots:
            s = stats[(market, slot)]
            fee = fee_rate.get((market, slot))
            days.append([{
                "time": local_minute(slot),
                "min_price": eur_rounded(s["min"]), "max_price": eur_rounded(s["max"]),
                "grid_fee_constant": None if fee is None else fee / 100,
                "av_price": eur_rounded(s["mean"]),
                "av_price_energy_weighted": eur_rounded(s["vwap"]),
                "median_price": eur_rounded(s["median"]), "trade_count": int(s["count"]),
                "traded_energy_kwh": float(s["energy_kwh"])}])
        out[market] = {"price-currency": "Euros", "load-unit": "kWh", "price-energy-day": days}
    return out


def add_energy(side: dict, one: str, other: str, time: str, e: float) -> None:
    """Book e [kWh] on ``one``'s total and its line with ``other`` at ``time``."""
    node = side.setdefault(one, {"accumulated": {}})
    node.setdefault(other, {})
    if e > SHOWN_KWH:
        node["accumulated"][time] = node["accumulated"].get(time, 0.0) + e
        node[other][time] = node[other].get(time, 0.0) + e


def trade_profile_results(record, legs=None) -> dict:
    """trade_profile.json's content."""
    out = {m: {"sold_energy": {}, "bought_energy": {}} for m in parent_of(record)}
    for row in trade_profile(record, legs).to_dict("records"):
        time, e = ui_minute(row["slot_start"]), float(row["energy_kwh"])
        add_energy(out[row["market"]]["sold_energy"], row["seller"], row["buyer"], time, e)
        add_energy(out[row["market"]]["bought_energy"], row["buyer"], row["seller"], time, e)
    return out


def gsy_results(record, externals_in_root: bool = True) -> dict[str, dict]:
    """The four files' contents, by file stem."""
    legs = market_legs(record)
    return {"kpi": kpi_results(record, externals_in_root),
            "bills": bills_results(record, legs),
            "price_energy_day": price_energy_day_results(record, legs),
            "trade_profile": trade_profile_results(record, legs)}


def write_gsy_results(record, out_dir: str | Path, externals_in_root: bool = True
                      ) -> dict[str, Path]:
    """Write kpi.json, bills.json, price_energy_day.json, trade_profile.json; their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for stem, content in gsy_results(record, externals_in_root).items():
        paths[stem] = out / f"{stem}.json"
        with open(paths[stem], "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2, allow_nan=False)
    return paths
