"""Prosumer agents and the slot book in a loop over ticks (no mosaik)."""

import numpy as np
import pytest

from agents.community.agents import BatteryUnit, ChargerUnit, Prosumer
from agents.community.model import Community
from agents.market.areas import GridFee, feeder_tree
from agents.market.engine import SlotBook
from agents.market.pricing import Limits, Pricing

SLOT, TICKS = 900, 10


def community(strategy="gsy_ramp", seed=0, battery=False, ev=None, rule="pay_as_bid"):
    tree = feeder_tree({"load": "f1_b1", "sun": "f1_b2"},
                       {"lv_feeder": GridFee(constant_ct_per_kwh=1.0)})
    model = Community(SLOT, TICKS, lambda slot: {h: Limits(*tree.limits_at(h, 25.0, 10.0))
                                                 for h in ("load", "sun")}, seed=seed)
    pricing = Pricing(strategy, update_interval_s=300.0)
    n = 8
    bats = [BatteryUnit("bat", 5.0, 95.0, 20.0, 20.0, 1.0, 1.0, 50.0)] if battery else []
    chs = [ChargerUnit("ch", 11.0, ev)] if ev else []
    model.add(Prosumer(model, "load", "single_family", "load", pricing,
                       np.full(n, 2.0), np.zeros(n), [], chs, seed=1))
    model.add(Prosumer(model, "sun", "producer", "sun", pricing,
                       np.zeros(n), np.full(n, -3.0), bats, [], seed=2))
    book = SlotBook(tree, rule, np.random.default_rng(seed), market_maker=True)
    return model, book


def run(model, book, slots=3):
    """Ticks through ``slots`` slots as the two mosaik adapters do; all trades."""
    trades, last = [], []
    for time in range(0, slots * SLOT, SLOT // TICKS):
        orders = model.step_at(time, last)
        k, into = divmod(time, SLOT)
        tick = into // (SLOT // TICKS)
        if tick == 0:
            book.close()
            book.open(k + 1, 25.0, 10.0)
        book.sync(orders)
        last = book.tick(tick)
        trades += last
    return trades


def test_load_and_pv_meet_in_their_feeder_when_the_ramps_cross():
    model, book = community()
    trades = run(model, book, slots=2)
    slot1 = [t for t in trades if t.slot == 1]
    peer = [t for t in slot1 if {t.buyer, t.seller} == {"load", "sun"}]
    assert sum(t.energy_kwh for t in peer) == pytest.approx(2.0)  # all the load's demand
    assert {t.market for t in peer} <= {"f1", "mv"}
    # the PV's surplus (1 kWh) goes to the market maker at the feed-in price
    mm = [t for t in slot1 if t.buyer == "market_maker"]
    assert sum(t.energy_kwh for t in mm) == pytest.approx(1.0)
    high = model.limits["load"].high_ct_per_kwh  # the tariff plus the fees to the root
    assert all(t.buyer_rate_ct_per_kwh <= high + 1e-9 for t in slot1)


def test_battery_setpoint_is_its_net_trade_of_the_slot():
    model, book = community(battery=True)
    trades = run(model, book, slots=2)
    net = sum(t.energy_kwh * ((t.buyer_device == "bat") - (t.seller_device == "bat"))
              for t in trades if t.slot == 1)
    assert abs(net) > 0.1
    model.step_at(2 * SLOT, [])  # slot 1 is delivered: set-points from its trades
    assert model.by_pid["sun"].setpoint_kw["bat"] == pytest.approx(net / 0.25)


def test_an_ev_that_cannot_wait_bids_at_the_limit():
    ev = {"departure_s": 2 * SLOT, "e_kwh": 10.0, "e_target_kwh": 30.0, "e_max_kwh": 75.0,
          "eta_charge": 1.0}
    model, book = community(ev=ev)
    model.step_at(0, [])
    order = next(o for o in model.order_book if o.device == "ch")
    high = model.limits["load"].high_ct_per_kwh
    assert order.energy_kwh == pytest.approx(11.0 * 0.25)  # one slot left before departure
    assert order.rate_ct_per_kwh == pytest.approx(high)


def test_zero_intelligence_run_is_reproducible_and_seeded():
    def trades(seed):
        model, book = community("zero_intelligence", seed=seed)
        model.by_pid["load"].price_rng = np.random.default_rng(seed)
        return [(t.slot, t.tick, t.bid_id, t.offer_id, t.energy_kwh, t.rate_ct_per_kwh)
                for t in run(model, book)]

    assert trades(3) == trades(3)
    assert trades(3) != trades(4)
