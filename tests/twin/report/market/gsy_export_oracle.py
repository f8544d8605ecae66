"""Test oracle: twin.report.market.gsy_export as it was before the array rewrite (commit 2d59cdb).

The four JSON files built the straightforward way, one area (and one market and slot)
at a time, on top of ``market_kpis_oracle``; the file formats (field tables, time
formats) are shared with ``twin.report.market.gsy_export``. Slow on large records (price_energy_day
alone takes minutes for 1,000 houses).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from tests.twin.report.market.market_kpis_oracle import (
    area_kpis,
    market_bills,
    market_legs,
    price_stats,
    trade_profile,
)
from twin.report.market.gsy_export import (
    BILL_FIELDS,
    ENERGY_TOL_KWH,
    KPI_FIELDS,
    SAVING_FIELDS,
    gsy_time,
    gsy_ui_time,
)
from twin.report.market.kpis import MarketRecord


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
    rows = market_bills(record, legs)
    out: dict[str, dict] = {}

    def visit(area: str) -> None:
        here = rows[rows["market"] == area]
        entry, leaves = {}, []
        for r in here[~here["external"]].to_dict("records"):
            entry[r["party"]] = _bill(r) | {"type": r["type"]}
            leaves.append(r["party"])
        acc = _sum_bills([entry[p] for p in leaves])
        ext = _bill(here[here["external"]].iloc[0].to_dict())
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

    def eur(x) -> float:
        return 0.0 if math.isnan(x) else round(x / 100, 3)

    out = {}
    for market in record.parents:
        days = []
        for slot in record.slots():
            s = stats.loc[(market, slot)]
            fee = fee_rate.get((market, slot))
            days.append([{
                "time": gsy_time(slot), "min_price": eur(s["min"]),
                "max_price": eur(s["max"]),
                "grid_fee_constant": None if fee is None else fee / 100,
                "av_price": eur(s["mean"]), "av_price_energy_weighted": eur(s["vwap"]),
                "median_price": eur(s["median"]), "trade_count": int(s["count"]),
                "traded_energy_kwh": float(s["energy_kwh"])}])
        out[market] = {"price-currency": "Euros", "load-unit": "kWh",
                       "price-energy-day": days}
    return out


def trade_profile_results(record: MarketRecord, legs: pd.DataFrame | None = None) -> dict:
    """trade_profile.json's content (see the module docstring)."""
    out = {m: {"sold_energy": {}, "bought_energy": {}} for m in record.parents}
    for market, slot, seller, buyer, e in trade_profile(record, legs).itertuples(index=False):
        t = gsy_ui_time(slot)
        for side, one, other in (("sold_energy", seller, buyer),
                                 ("bought_energy", buyer, seller)):
            node = out[market][side].setdefault(one, {"accumulated": {}})
            node.setdefault(other, {})
            if e > ENERGY_TOL_KWH:
                for key in ("accumulated", other):
                    node[key][t] = node[key].get(t, 0.0) + float(e)
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
    paths = {}
    for stem, content in gsy_results(record, externals_in_root).items():
        paths[stem] = out / f"{stem}.json"
        with open(paths[stem], "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2, allow_nan=False)
    return paths
