"""Market KPIs on the hand-worked community of market_fixtures (numbers worked by hand)."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest

from tests.twin.report.market import market_kpis_oracle as oracle
from tests.twin.report.market import market_legs_oracle as legs_oracle
from tests.twin.report.market.market_fixtures import community, random_community
from twin.report.market.kpis import area_kpis, participant_bills
from twin.report.market.legs import grid_fees, market_bills, market_legs, price_stats, trade_profile

T0, T1, T2 = pd.date_range("2024-06-01 10:00", periods=3, freq="15min",
                           tz="America/Martinique")


@pytest.fixture(scope="module")
def kpis(record):
    return area_kpis(record)


def test_area_kpis_house_with_pv_and_battery(kpis):
    # h1 demand: h1/load 1 + 0.5 + 1 = 2.5. Produced: PV sold T1 2 + T2 1 + T4 1 + T10 0.5
    # (imbalance sale names h1/pv) = 4.5. Self-consumed: T4 pv->load 1; buffer: T1 +2,
    # T5 battery->h2/load (outside h1) empties 1.5 uncounted, T7 battery->load counts 0.5
    # and empties it, T8 (the market maker's kWh) finds it empty -> 1.5.
    h1 = kpis.loc["h1"]
    assert h1["total_energy_demanded_kwh"] == pytest.approx(2.5)
    assert h1["total_energy_produced_kwh"] == pytest.approx(4.5)
    assert h1["total_self_consumption_kwh"] == pytest.approx(1.5)
    assert h1["self_consumption_buffer_kwh"] == pytest.approx(0.0)
    assert h1["self_sufficiency"] == pytest.approx(1.5 / 2.5)  # 0.6
    assert h1["self_consumption"] == pytest.approx(1.5 / 4.5)  # 0.333


def test_area_kpis_feeder_counts_storage_sale_to_neighbour(kpis):
    # lv1 (h1 + h2): demand 2.5 + 2.5 = 5. Self-consumed: T2 pv->h2/load 1, T4 1, and
    # through the battery T5 1.5 + T7 0.5 (buffer 2 from T1, now both loads are inside) = 4.
    lv1 = kpis.loc["lv1"]
    assert lv1["total_energy_demanded_kwh"] == pytest.approx(5.0)
    assert lv1["total_self_consumption_kwh"] == pytest.approx(4.0)
    assert lv1["self_sufficiency"] == pytest.approx(0.8)
    assert lv1["self_consumption"] == pytest.approx(4.0 / 4.5)


def test_area_kpis_houses_without_production(kpis):
    # h2, h3 buy everything from outside: self-sufficiency 0, self-consumption None (NaN)
    assert kpis.loc["h2", "self_sufficiency"] == 0.0
    assert math.isnan(kpis.loc["h2", "self_consumption"])
    assert kpis.loc["h3", "total_energy_demanded_kwh"] == pytest.approx(2.2)  # 1 + 1.2
    assert math.isnan(kpis.loc["lv2", "self_consumption"])


def test_area_kpis_root_with_externals_as_infinite_bus(kpis):
    # gsy-e: the market maker / utility sit in the root as an InfiniteBus. T3 MM->h3/load
    # is production and self-consumption (+1); T10 h1/pv->utility is demanded buffer and
    # self-consumption (+0.5); T6 MM->battery and T9 utility->h3 (no device) count nowhere.
    # demand 5 + 2.2 + 0.5 = 7.7, produced 4.5 + 1 = 5.5, self-consumed 4 + 1 + 0.5 = 5.5.
    mv = kpis.loc["mv"]
    assert mv["demanded_buffer_kwh"] == pytest.approx(0.5)
    assert mv["total_energy_demanded_kwh"] == pytest.approx(7.7)
    assert mv["total_energy_produced_kwh"] == pytest.approx(5.5)
    assert mv["self_sufficiency"] == pytest.approx(5.5 / 7.7)
    assert mv["self_consumption"] == 1.0


def test_area_kpis_root_with_externals_outside(record):
    # the community's own figures: demand 7.2, produced 4.5, self-consumed 4.0
    mv = area_kpis(record, externals_in_root=False).loc["mv"]
    assert mv["total_energy_demanded_kwh"] == pytest.approx(7.2)
    assert mv["self_sufficiency"] == pytest.approx(4.0 / 7.2)
    assert mv["self_consumption"] == pytest.approx(4.0 / 4.5)


def test_area_kpis_storage_filled_by_market_maker_not_counted(record):
    # without T1 (pv->battery) the battery holds only the market maker's energy: its
    # sales to h1/load (T7, T8) and h2/load (T5) never count. h1: T4 only; lv1: T2 + T4.
    trades = record.trades[record.trades["trade_id"] != "T1"]
    kpis = area_kpis(replace(record, trades=trades))
    assert kpis.loc["h1", "total_self_consumption_kwh"] == pytest.approx(1.0)
    assert kpis.loc["lv1", "total_self_consumption_kwh"] == pytest.approx(2.0)
    assert kpis.loc["h1", "self_consumption_buffer_kwh"] == 0.0


def test_area_kpis_buffer_left_when_storage_keeps_local_pv(record):
    # without T5, T7, T8 the 2 kWh from T1 stay in the battery: buffer 2, nothing counted
    keep = ~record.trades["trade_id"].isin(["T5", "T7", "T8"])
    rec = replace(record, trades=record.trades[keep])
    h1 = area_kpis(rec).loc["h1"]
    assert h1["self_consumption_buffer_kwh"] == pytest.approx(2.0)
    assert h1["total_self_consumption_kwh"] == pytest.approx(1.0)


def test_area_kpis_savings(kpis):
    # h1 base case: consumption (pv 0, battery 2, load 1+0.5+1) x 20 = 90; production
    # (pv 4 + 0.5, battery 1 + 1) x 10 = 65; base 25. Market bill: paid 78.5 - earned
    # 95.5 = -17 -> saving 42, gsy-e percentage |42 / 25| = 168 %.
    h1 = kpis.loc["h1"]
    assert (h1["utility_bill_ct"], h1["fit_revenue_ct"]) == (90.0, 65.0)
    assert h1["gsy_e_cost_ct"] == pytest.approx(-17.0)
    assert h1["saving_absolute_ct"] == pytest.approx(42.0)
    assert h1["saving_percentage"] == pytest.approx(168.0)
    # h3 pays 23 (T3 incl. 3 ct fees) + 24 (imbalance) = 47 against 2.2 x 20 = 44: a loss
    # of 3, which gsy-e reports as |-3/44| = 6.82 %
    assert kpis.loc["h3", "saving_absolute_ct"] == pytest.approx(-3.0)
    assert kpis.loc["h3", "saving_percentage"] == pytest.approx(300 / 44)
    # lv1 = h1 + h2 (gsy-e sums the children): base 25 + 50, cost -17 + 37.5
    assert kpis.loc["lv1", "base_case_cost_ct"] == pytest.approx(75.0)
    assert kpis.loc["lv1", "saving_absolute_ct"] == pytest.approx(54.5)
    assert math.isnan(kpis.loc["mv", "saving_absolute_ct"])  # gsy-e skips the root


def test_participant_bills_h1(record):
    # bought T1 2 + T4 1 + T6 1 + T7 0.5 + T8 1 = 5.5; sold T1 2 + T2 1 + T4 1 + T5 1.5
    # + T7 0.5 + T8 1 + T10 0.5 = 7.5; spent at market rates 24+12+20+6.5+13 = 75.5; fees
    # on purchases T6 3; earned 24+14+12+21+6.5+13+5 = 95.5; seller-side fee T5 1.5.
    h1 = participant_bills(record).loc["h1"]
    assert (h1["bought_kwh"], h1["sold_kwh"]) == (5.5, 7.5)
    assert (h1["spent_ct"], h1["market_fee_ct"], h1["earned_ct"]) == (75.5, 3.0, 95.5)
    assert h1["fee_ct"] == pytest.approx(4.5)
    assert h1["total_cost_ct"] == pytest.approx(-17.0)
    assert h1["total_energy_kwh"] == pytest.approx(-2.0)  # net export of its devices


def test_participant_bills_money_is_conserved(record):
    # buyers pay 8.5 ct more than sellers receive: exactly the grid fees booked
    bills = participant_bills(record)
    assert bills["total_cost_ct"].sum() == pytest.approx(record.fees["fee_ct"].sum())
    assert bills["total_cost_ct"].sum() == pytest.approx(8.5)
    assert bills.loc["market_maker", "total_cost_ct"] == pytest.approx(-40.0)
    assert bills.loc["utility", "total_cost_ct"] == pytest.approx(5.0 - 24.0)
    assert bills["total_energy_kwh"].sum() == pytest.approx(0.0)


def test_participant_bills_savings_sign(record):
    bills = participant_bills(record)
    assert bills.loc["h2", "saving_absolute_ct"] == pytest.approx(50.0 - 37.5)
    assert bills.loc["h2", "saving_percent"] == pytest.approx(25.0)
    assert bills.loc["h3", "saving_percent"] == pytest.approx(-300 / 44)  # signed here


def test_grid_fees_per_market(record):
    fees = grid_fees(record)
    assert fees.to_dict() == {"lv1": 3.5, "lv2": 1.0, "mv": 4.0}


def test_market_legs_follow_the_path(record):
    # T3 market_maker -> h3/load: mv (fee 2) -> lv2 (fee 1) -> h3, seller paid 20
    legs = market_legs(record)
    t3 = legs[legs["trade_id"] == "T3"]
    assert list(t3["market"]) == ["mv", "lv2", "h3"]
    assert list(t3["seller"]) == ["market_maker", "lv2", "h3"]
    assert list(t3["buyer"]) == ["lv2", "h3", "h3/load"]
    assert list(t3["price_ct"]) == [22.0, 23.0, 23.0]
    assert list(t3["fee_ct"]) == [2.0, 1.0, 0.0]


def test_market_legs_fee_rates_without_trade_ids(record):
    # without trade ids the fees come from each market's average rate in the slot; here
    # every market charges one rate, so the legs are the same
    a = market_legs(record).drop(columns="trade_id")
    b = market_legs(community(with_trade_ids=False)).drop(columns="trade_id")
    pd.testing.assert_frame_equal(a, b)


def test_market_bills_balance_in_every_market(record):
    # gsy-e's Totals: children + the area's link + the market's fees sum to zero
    bills = market_bills(record)
    legs = market_legs(record)
    for market, rows in bills.groupby("market"):
        fee = legs.loc[legs["market"] == market, "fee_ct"].sum()
        assert rows["total_cost_ct"].sum() - fee == pytest.approx(0.0), market
        assert rows["total_energy_kwh"].sum() == pytest.approx(0.0), market


def test_market_bills_feeder(record):
    # lv1: h1 sold T2 1 (earned 14), T5 1.5 (21), T10 0.5 (5), bought T6 at 23 (fee 1);
    # lv1's link sold 1 (T6, earned 23 - 1) and bought 0.5 (T10, spent 5)
    b = market_bills(record).set_index(["market", "party"])
    h1 = b.loc[("lv1", "h1")]
    assert (h1["sold_kwh"], h1["earned_ct"], h1["bought_kwh"]) == (3.0, 40.0, 1.0)
    assert (h1["spent_ct"], h1["market_fee_ct"], h1["total_cost_ct"]) == (22.0, 1.0, -17.0)
    link = b.loc[("lv1", "lv1")]
    assert (link["bought_kwh"], link["sold_kwh"]) == (0.5, 1.0)
    assert (link["spent_ct"], link["earned_ct"], link["total_cost_ct"]) == (5.0, 22.0, -17.0)
    assert b.loc[("h3", "h3/imbalance"), "total_cost_ct"] == pytest.approx(24.0)


def test_price_stats(record):
    # h1, slot 2: T5 leg 21/1.5 = 14, T6 leg 23, T7 13 -> mean 16.67, median 14,
    # energy 3, energy-weighted (21 + 23 + 6.5) / 3 = 16.83
    s = price_stats(record)
    h1 = s.loc[("h1", T1)]
    assert (h1["min"], h1["max"], h1["median"], h1["count"]) == (13.0, 23.0, 14.0, 3)
    assert h1["mean"] == pytest.approx(50 / 3)
    assert h1["vwap"] == pytest.approx(50.5 / 3)
    assert h1["energy_kwh"] == pytest.approx(3.0)
    lv1 = s.loc[("lv1", T1)]  # T5 15, T6 23 over 2.5 kWh
    assert (lv1["min"], lv1["max"], lv1["mean"]) == (15.0, 23.0, 19.0)
    assert lv1["vwap"] == pytest.approx(45.5 / 2.5)
    assert s.loc[("mv", T2), "count"] == 0  # only the imbalance leg: not a market price
    assert math.isnan(s.loc[("mv", T2), "min"])


def test_trade_profile(record):
    p = trade_profile(record).set_index(["market", "slot_start", "seller", "buyer"])
    assert p.loc[("lv1", T0, "h1", "h2"), "energy_kwh"] == 1.0
    assert p.loc[("lv1", T1, "lv1", "h1"), "energy_kwh"] == 1.0  # T6 comes down to h1
    assert p.loc[("h1", T0, "h1/pv", "h1"), "energy_kwh"] == 1.0  # T2 leaves the house
    assert ("mv", T2, "lv1", "utility") not in p.index  # imbalance is no trade


# --- the fast code against the independent per-area oracles (plain loops, definitions) ---

def _records() -> dict:
    base = community()
    return {
        "fixture": base, "fixture_fee_rates": community(with_trade_ids=False),
        "fixture_no_trades": replace(base, trades=base.trades.iloc[:0],
                                     fees=base.fees.iloc[:0]),
        "random": random_community(houses=30, slots=6, seed=1),
        "random_fee_rates": random_community(houses=30, slots=6, seed=2,
                                             with_trade_ids=False),
        "random_small": random_community(houses=5, slots=3, seed=3)}


RECORDS = _records()


@pytest.mark.parametrize("externals_in_root", [True, False])
@pytest.mark.parametrize("name", RECORDS)
def test_area_kpis_equal_oracle(name, externals_in_root):
    record = RECORDS[name]
    pd.testing.assert_frame_equal(area_kpis(record, externals_in_root),
                                  oracle.area_kpis(record, externals_in_root),
                                  check_exact=True)  # bit for bit, as the docstring says


def test_area_kpis_equal_oracle_with_roles():
    record, roles = RECORDS["random"], {"ev": "storage", "pv": "consumer"}
    pd.testing.assert_frame_equal(area_kpis(record, roles=roles),
                                  oracle.area_kpis(record, roles=roles), check_exact=True)


@pytest.mark.parametrize("name", RECORDS)
def test_participant_bills_equal_oracle(name):
    pd.testing.assert_frame_equal(participant_bills(RECORDS[name]),
                                  oracle.participant_bills(RECORDS[name]), check_exact=True)


@pytest.mark.parametrize("name", RECORDS)
def test_market_legs_bills_prices_profile_equal_oracle(name):
    record = RECORDS[name]
    legs = market_legs(record)
    pd.testing.assert_frame_equal(legs, legs_oracle.market_legs(record), check_exact=True)
    for fast, slow in ((market_bills, legs_oracle.market_bills),
                       (price_stats, legs_oracle.price_stats),
                       (trade_profile, legs_oracle.trade_profile)):
        pd.testing.assert_frame_equal(fast(record, legs), slow(record, legs), check_exact=True)


def test_random_community_covers_the_cases():
    # what the oracle comparisons rely on: every kind of trade and origin occurs
    t = RECORDS["random"].trades
    assert {"market_maker", "utility"} <= set(t["seller"]) & set(t["buyer"])
    assert (t["market"] == "imbalance").any() and (t["buyer_device"] == "").any()
    assert t["market"].str.match(r"p\d+").any() and t["market"].isin(["f1", "f2"]).any()
    assert (t["energy_kwh"] == 0).any() and t.duplicated(["slot_start", "tick"]).any()
    assert t["seller_device"].eq("c1/battery").any() or t["buyer_device"].eq("c1/battery").any()


def test_area_tree_paths():
    tree = community().tree
    names = list(tree.names)
    trade, step, node, length = tree.paths(tree.codes(["h1", "h1", "mv"]),
                                           tree.codes(["h3", "h1", "h2"]))
    assert [names[n] for n in node] == ["h1", "lv1", "mv", "lv2", "h3", "h1", "mv", "lv1", "h2"]
    assert list(length) == [5, 1, 3] and list(trade) == [0] * 5 + [1] + [2] * 3
    assert list(step) == [0, 1, 2, 3, 4, 0, 0, 1, 2]
    items, bounds = tree.members(tree.codes(["h3", None, "lv1", "h1"]))
    lv1 = names.index("lv1")
    assert list(items[bounds[lv1]:bounds[lv1 + 1]]) == [2, 3]  # lv1 itself and h1
    assert list(items[bounds[0]:bounds[1]]) == [0, 2, 3]  # the root: all but None
