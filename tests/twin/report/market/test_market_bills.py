"""Bills at the participants' meters (twin.report.market.bills): self-pairs netted behind the
meter, savings on a stored-energy-neutral utility-only base, percentages undefined on a
base <= 0, and the reconciliation with the site's energy cost; on the hand-worked
community of market_fixtures and a generated one, against an independent oracle."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from tests.twin.report.market import market_bills_oracle as oracle
from tests.twin.report.market.market_fixtures import community, random_community
from twin.report.market.bills import (
    meter_bills,
    participant_roles,
    reconciliation,
    service_price_eur_per_kwh,
)
from twin.report.market.section import market_table
from twin.report.market.summary import market_summary


def _with_site(record, stored=(("h1", "h1/battery", -1.0),)):
    """The community with its site meter (devices + 0.1 kWh losses per slot) and the
    battery's stored-energy change."""
    delivered = record.energy.groupby("slot_start")["energy_kwh"].sum()
    site = pd.DataFrame({"slot_start": delivered.index, "import_kwh": delivered.to_numpy()
                         + 0.1, "loss_kwh": 0.1})
    return dataclasses.replace(record, site=site, stored=pd.DataFrame(
        list(stored), columns=["participant", "device", "stored_change_kwh"]))


@pytest.fixture
def record():
    return _with_site(community())


def test_self_pairs_are_own_consumption_not_purchases(record):
    b = meter_bills(record)
    # T1, T4, T7, T8: h1's PV and battery to h1's battery and load
    assert b.loc["h1", "self_supplied_kwh"] == pytest.approx(4.5)
    assert b.loc["h1", "bought_kwh"] == pytest.approx(1.0)  # T6 only
    assert b.loc["h1", "sold_kwh"] == pytest.approx(3.0)  # T2, T5, T10
    assert b.loc["h1", "net_bill_ct"] == pytest.approx(23 - 14 - 21 - 5)
    k = market_summary(record, b)
    assert k["market_p2p_traded_kwh"] == pytest.approx(2.5)  # T2, T5
    assert k["market_p2p_rate_mean_ct_per_kwh"] == pytest.approx((14 + 15 * 1.5) / 2.5)
    assert k["market_self_supplied_kwh"] == pytest.approx(4.5)


def test_savings_count_the_stored_energy_and_a_base_at_or_below_zero_has_no_percent(record):
    b = meter_bills(record)
    assert service_price_eur_per_kwh(record) == pytest.approx(0.20)
    # h1: base = -3 kWh x 10 + 0.5 x 20 + 0.5 x 20 = -10 ct; the drained kWh is worth 20 ct
    assert b.loc["h1", "utility_only_ct"] == pytest.approx(-10.0)
    assert b.loc["h1", "stored_value_ct"] == pytest.approx(-20.0)
    assert b.loc["h1", "saving_ct"] == pytest.approx(-10.0 - (-17.0 + 20.0))
    assert math.isnan(b.loc["h1", "saving_percent"])
    assert b.loc["h2", "saving_percent"] == pytest.approx(25.0)
    assert b.loc["h3", "saving_percent"] == pytest.approx(-3 / 44 * 100)


def test_a_common_base_replaces_the_runs_own(record):
    common = pd.Series({"h1": 5.0, "h2": 50.0, "h3": 0.0})
    b = meter_bills(record, base_ct=common)
    assert b.loc["h2", "utility_only_ct"] == 50.0 and b.loc["h1", "utility_only_ct"] == 5.0
    assert math.isnan(b.loc["h3", "saving_percent"])


@pytest.mark.parametrize("make", [community, random_community])
def test_bills_equal_the_oracle(make):
    rec = _with_site(make(), stored=())
    ours = meter_bills(rec, price_eur_per_kwh=0.2)
    theirs = oracle.bills(rec, 0.2)
    for p, want in theirs.items():
        for col, value in want.items():
            got = ours.loc[p, col]
            assert (math.isnan(got) and math.isnan(value)) or got == pytest.approx(
                value, abs=1e-9), (p, col)


def test_reconciliation_closes_and_catches_a_missing_settlement(record):
    r = reconciliation(record)
    # the site imports 1.1, 1.1, 0.8 kWh at 20 ct
    assert r["site_cost"] == pytest.approx(0.60)
    assert r["expected"] == pytest.approx(r["participants_bills"] + r["grid_fees"]
                                          + r["feeder_losses"] + r["site_netting"])
    assert abs(r["residual"]) < 1e-12
    assert r["participants_bills"] + r["grid_fees"] == pytest.approx(r["externals"])
    broken = dataclasses.replace(record, trades=record.trades[record.trades["trade_id"]
                                                               != "T9"])
    assert reconciliation(broken)["residual"] == pytest.approx(1.2 * 0.20)


def test_roles_and_report_say_undefined(record):
    assert participant_roles(record).to_dict() == {
        "h1": "prosumer", "h2": "consumer", "h3": "consumer"}
    kpis = {"market_role_prosumer_participants": 1, "market_role_prosumer_utility_only_eur":
            -0.1, "market_role_prosumer_saving_eur": -0.13}

    class M:  # the scenario's market section as market_table reads it
        rule, slot, ticks_per_slot, strategies = "pay_as_bid", "PT15M", 10, []

    page = market_table(type("S", (), {"market": M})(), kpis, lambda v: f"{v:.2f}")
    assert "n/a (base &lt;= 0)" in page or "n/a (base <= 0)" in page
