"""gsy-e-shaped JSON exports of the hand-worked community (market_fixtures)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from tests.twin.report.market import gsy_export_oracle as oracle
from tests.twin.report.market.market_fixtures import community, random_community
from twin.report.market.gsy_export import (
    FILES,
    dumps,
    gsy_results,
    gsy_time,
    gsy_ui_time,
    write_gsy_results,
)
from twin.report.market.kpis import participant_bills

T0 = pd.Timestamp("2024-06-01 10:00", tz="America/Martinique")
AREAS = {"mv", "lv1", "lv2", "h1", "h2", "h3"}
BILL_KEYS = ["bought", "sold", "spent", "earned", "total_energy", "total_cost", "market_fee"]


@pytest.fixture(scope="module")
def written(record, tmp_path_factory):
    out = tmp_path_factory.mktemp("gsy")
    paths = write_gsy_results(record, out / "aggregated_results")
    return {stem: json.loads(p.read_text(encoding="utf-8")) for stem, p in paths.items()}


def test_write_gsy_results_round_trips(record, written, tmp_path):
    paths = write_gsy_results(record, tmp_path)
    assert sorted(p.name for p in paths.values()) == [
        "bills.json", "kpi.json", "price_energy_day.json", "trade_profile.json"]
    assert written == gsy_results(record)


def test_gsy_time_formats():
    assert gsy_time(T0) == "2024-06-01T10:00"
    assert gsy_ui_time(T0 + pd.Timedelta("15min")) == "June 01 2024, 10:15 h"


def test_kpi_json_keys_and_units(written):
    kpi = written["kpi"]
    assert set(kpi) == AREAS
    assert list(kpi["h1"]) == [
        "name", "self_sufficiency", "self_consumption", "total_energy_demanded_wh",
        "demanded_buffer_wh", "self_consumption_buffer_wh", "total_energy_produced_wh",
        "total_self_consumption_wh", "utility_bill", "fit_revenue", "gsy_e_cost",
        "base_case_cost", "saving_absolute", "saving_percentage"]
    # h1: 2.5 kWh demanded, 4.5 produced, 1.5 self-consumed (see test_market_kpis)
    assert kpi["h1"]["total_energy_demanded_wh"] == pytest.approx(2500.0)
    assert kpi["h1"]["total_self_consumption_wh"] == pytest.approx(1500.0)
    assert kpi["h1"]["self_sufficiency"] == pytest.approx(0.6)
    assert kpi["h1"]["saving_absolute"] == pytest.approx(42.0)  # EUR cents, as gsy-e
    assert kpi["h2"]["self_consumption"] is None
    assert "saving_absolute" not in kpi["mv"]  # gsy-e: no savings for the root


def test_kpi_json_with_externals_outside(record, tmp_path):
    paths = write_gsy_results(record, tmp_path, externals_in_root=False)
    mv = json.loads(paths["kpi"].read_text())["mv"]
    assert mv["self_sufficiency"] == pytest.approx(4.0 / 7.2)  # 4 kWh of 7.2 demanded


def test_bills_json_shape_and_totals(written):
    bills = written["bills"]
    assert set(bills) == AREAS | {"h1/load", "h1/pv", "h1/battery", "h2/load", "h3/load",
                                  "h3/imbalance", "market_maker", "utility"}
    for area in AREAS:
        sections = ["Accumulated Trades", "External Trades", "Market Fees", "Totals"]
        assert list(bills[area])[-4:] == sections
        totals = bills[area]["Totals"]
        assert totals["total_cost"] == pytest.approx(0.0, abs=1e-12), area
        assert totals["total_energy"] == pytest.approx(0.0, abs=1e-12), area
    assert list(bills["h1/pv"]) == [*BILL_KEYS, "type"]
    assert bills["h1/pv"] == bills["h1"]["h1/pv"]
    assert bills["h1/pv"]["type"] == "PV"
    assert bills["market_maker"]["type"] == "MarketMaker"


def test_bills_json_feeder_in_euros(written):
    # lv1 (worked in test_market_bills_feeder): h1 sold 3 kWh for 0.40 EUR, bought 1 kWh
    # for 0.23 EUR incl. 0.01 fee; the link bought 0.5 (T10) and sold 1 (T6); fees 3.5 ct
    lv1 = written["bills"]["lv1"]
    assert lv1["h1"]["earned"] == pytest.approx(0.40)
    assert lv1["h1"]["total_cost"] == pytest.approx(-0.17)
    assert lv1["h1"]["market_fee"] == pytest.approx(0.01)
    assert lv1["h1"]["type"] == "Area"
    ext = lv1["External Trades"]
    assert (ext["bought"], ext["sold"]) == (0.5, 1.0)
    assert ext["earned"] == pytest.approx(0.22)
    assert lv1["Market Fees"]["earned"] == pytest.approx(0.035)
    assert lv1["Market Fees"]["total_cost"] == pytest.approx(-0.035)


def test_bills_json_house_matches_participant_bill(record, written):
    # houses charge no fee, so a house's accumulated bill is its participant's bill
    bills = participant_bills(record)
    for house in ("h1", "h2", "h3"):
        acc = written["bills"][house]["Accumulated Trades"]
        assert acc["total_cost"] * 100 == pytest.approx(bills.loc[house, "total_cost_ct"])


def test_price_energy_day_json(written):
    ped = written["price_energy_day"]
    assert set(ped) == AREAS
    h1 = ped["h1"]
    assert (h1["price-currency"], h1["load-unit"]) == ("Euros", "kWh")
    days = h1["price-energy-day"]
    assert [len(d) for d in days] == [1, 1, 1]  # one list per slot, as gsy-e appends
    slot2 = days[1][0]
    assert slot2["time"] == "2024-06-01T10:15"
    assert (slot2["min_price"], slot2["max_price"]) == (0.13, 0.23)
    assert slot2["av_price"] == 0.167  # (14 + 23 + 13) / 3 ct, rounded to 3 EUR decimals
    assert slot2["trade_count"] == 3
    assert ped["lv1"]["price-energy-day"][0][0]["grid_fee_constant"] == pytest.approx(0.01)
    assert ped["h1"]["price-energy-day"][0][0]["grid_fee_constant"] is None
    quiet = ped["mv"]["price-energy-day"][2][0]  # slot 3: only imbalance in mv
    assert (quiet["min_price"], quiet["max_price"], quiet["trade_count"]) == (0.0, 0.0, 0)


def test_trade_profile_json(written):
    tp = written["trade_profile"]
    assert set(tp) == AREAS
    t0, t1 = "June 01 2024, 10:00 h", "June 01 2024, 10:15 h"
    sold = tp["lv1"]["sold_energy"]["h1"]
    assert sold["accumulated"] == {t0: 1.0, t1: 1.5}  # T2, T5
    assert sold["h2"] == {t0: 1.0, t1: 1.5}
    assert tp["lv1"]["bought_energy"]["h1"] == {"accumulated": {t1: 1.0}, "lv1": {t1: 1.0}}
    # h1's market: PV sold 2 to the battery, 1 to the load and 1 out of the house at 10:00
    assert tp["h1"]["sold_energy"]["h1/pv"]["accumulated"] == {t0: 4.0}
    assert tp["h1"]["sold_energy"]["h1/pv"]["h1"] == {t0: 1.0}


# --- the fast exports against the independent oracle (plain loops, json.dump) ---

ORACLE_RECORDS = {
    "fixture": community(), "fixture_fee_rates": community(with_trade_ids=False),
    "random": random_community(houses=30, slots=6, seed=1),
    "random_fee_rates": random_community(houses=30, slots=6, seed=2, with_trade_ids=False)}


@pytest.mark.parametrize("externals_in_root", [True, False])
@pytest.mark.parametrize("name", ORACLE_RECORDS)
def test_write_gsy_results_equal_oracle_byte_for_byte(name, externals_in_root, tmp_path):
    record = ORACLE_RECORDS[name]
    fast = write_gsy_results(record, tmp_path / "fast", externals_in_root)
    slow = oracle.write_gsy_results(record, tmp_path / "oracle", externals_in_root)
    for stem in FILES:
        assert fast[stem].read_bytes() == slow[stem].read_bytes(), stem


def test_write_gsy_results_without_trades(tmp_path):
    # a market run in which nobody traded: every price 0, no fee, empty profiles
    base = community()
    record = dataclasses.replace(base, trades=base.trades.iloc[:0], fees=base.fees.iloc[:0])
    fast = write_gsy_results(record, tmp_path / "fast")
    slow = oracle.write_gsy_results(record, tmp_path / "oracle")
    for stem in FILES:
        assert fast[stem].read_bytes() == slow[stem].read_bytes(), stem
    day = json.loads(fast["price_energy_day"].read_text())["mv"]["price-energy-day"][0][0]
    assert (day["min_price"], day["trade_count"], day["grid_fee_constant"]) == (0.0, 0, None)


def test_gsy_results_equal_oracle():
    record = ORACLE_RECORDS["random"]
    assert gsy_results(record) == oracle.gsy_results(record)


@pytest.mark.parametrize("content", [
    {}, [], "x", 1.5, None, {"a": {}, "b": [], "c": [[]], "d": [{}]},
    {"é\n\"": [1, 2.5, True, None, "ü"], "n": {"x": {"y": [0.1, -0.0, 1e-300, 2 ** 62]}}},
    {"np": [np.float64(0.3), np.float64(1) / 3], "t": (1, (2, 3)), 1: {2.5: None, None: 1}},
    [[{"a": 1}], [{"b": {"c": [1, [2, {"d": 3}]]}}], {"e": False}],
    [{1: 2, 2.5: None, None: True, False: "x"}, {"a": {3: [1]}}]])
def test_dumps_is_json_dumps_indent_2(content):
    """The same JSON values as json.dumps(indent=2), laid out the same: one item a line,
    each line indented as there."""
    ours, ref = dumps(content), json.dumps(content, indent=2, allow_nan=False)
    assert json.loads(ours) == json.loads(ref)
    def indents(text):
        return [len(line) - len(line.lstrip(" ")) for line in text.splitlines()]
    assert indents(ours) == indents(ref)


def test_dumps_writes_nan_as_null():  # valid JSON: it has no NaN
    assert json.loads(dumps({"a": [float("nan"), float("inf")]})) == {"a": [None, None]}
