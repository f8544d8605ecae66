"""The slot book: ticks, forwarding after two ticks, grid fees on the path, lapse."""

import numpy as np
import pytest

from agents.market.areas import AreaTree, GridFee, feeder_tree
from agents.market.engine import OrderIn, SlotBook

NO_FEE, LV_FEE = GridFee(), GridFee(constant_ct_per_kwh=1.0)


def tree(lv_fee=LV_FEE, mv_fee=NO_FEE, house_fee=NO_FEE):
    return feeder_tree({"h1": "f1_b1", "h2": "f1_b4", "h3": "f2_b2", "h4": "lv_busbar"},
                       {"house": house_fee, "lv_feeder": lv_fee, "mv": mv_fee})


def book(rule="pay_as_bid", market_maker=False, **kw):
    b = SlotBook(tree(**kw), rule, np.random.default_rng(0), market_maker=market_maker)
    b.open(0, tariff_ct_per_kwh=25.0, feed_in_ct_per_kwh=10.0)
    return b


def bid(oid, house, kwh, rate, device=None):
    return OrderIn(oid, device or f"{house}/load", house, "bid", kwh, rate, house)


def offer(oid, house, kwh, rate, device=None):
    return OrderIn(oid, device or f"{house}/pv", house, "offer", kwh, rate, house)


def test_feeder_tree_follows_the_topology():
    t = tree()
    assert t.parent == {"mv": None, "f1": "mv", "h1": "f1", "h2": "f1", "f2": "mv",
                        "h3": "f2", "h4": "mv"}
    assert t.level["f2"] == "lv_feeder" and t.level["h4"] == "house"
    assert t.bottom_up()[-1] == "mv"


def test_orders_forward_after_two_ticks_and_pay_the_fees_on_their_path():
    b = book()
    orders = [bid("b1", "h1", 10.0, 20.0), offer("o1", "h2", 4.0, 15.0)]
    for tick in (0, 1):  # alone in their house markets
        b.sync(orders)
        assert b.tick(tick) == []
    assert {lv.path[-1] for lv in b.live.values()} == {"f1"}
    b.sync(orders)
    (t,) = b.tick(2)
    # in f1 the offer is at 15 + 1 (f1's fee), the bid at 20 (it left h1, fee 0)
    assert (t.market, t.energy_kwh, t.rate_ct_per_kwh) == ("f1", 4.0, 20.0)
    assert t.buyer_rate_ct_per_kwh == 20.0 and t.seller_rate_ct_per_kwh == 19.0
    assert t.fees_ct_per_kwh == {"f1": 1.0}
    assert b.live["b1"].energy_kwh == pytest.approx(6.0) and "o1" not in b.live


def test_a_match_needs_the_bid_to_cover_offer_plus_fees():
    b = book()
    for tick in range(10):
        b.sync([bid("b1", "h1", 1.0, 15.5), offer("o1", "h2", 1.0, 15.0)])
        assert b.tick(tick) == []  # 15.5 < 15 + 1
    assert b.close() == {"b1": 1.0, "o1": 1.0}
    assert b.live == {}


def test_a_repriced_order_restarts_its_wait():
    b = book()
    b.sync([bid("b1", "h1", 1.0, 12.0)])
    b.tick(0)
    b.sync([bid("b1", "h1", 1.0, 13.0)])  # re-priced at tick 1: waits two more ticks
    b.tick(1)
    assert b.live["b1"].path == ["h1"]
    b.sync([bid("b1", "h1", 1.0, 13.0)])
    b.tick(2)
    assert b.live["b1"].path == ["h1", "f1"]


def test_cross_feeder_trade_meets_in_the_root_with_fees_of_both_feeders():
    b = book(mv_fee=GridFee(constant_ct_per_kwh=0.5))
    trades = []
    for tick in range(10):
        b.sync([o for o in [bid("b1", "h1", 2.0, 30.0), offer("o1", "h3", 2.0, 20.0)]
                if o.id in b.live or tick == 0])
        trades += b.tick(tick)
    (t,) = trades
    assert (t.market, t.tick) == ("mv", 4)  # h -> f at tick 2, f -> mv at tick 4
    # bid left h1 and f1 (1 ct): 29 in mv; trade at 29, buyer pays 30
    # offer entered h3, f2 (1 ct) and mv (0.5 ct): seller gets 29 - 1.5
    assert t.rate_ct_per_kwh == 29.0 and t.buyer_rate_ct_per_kwh == 30.0
    assert t.seller_rate_ct_per_kwh == 27.5
    assert t.fees_ct_per_kwh == {"f1": 1.0, "f2": 1.0, "mv": 0.5}


def test_market_maker_serves_what_reaches_the_root_at_its_rates():
    b = book(market_maker=True)
    trades = []
    for tick in range(10):
        live = [bid("b1", "h1", 3.0, 26.0), offer("o1", "h3", 2.0, 9.0)]
        b.sync([o for o in live if o.id in b.live or tick == 0])
        trades += b.tick(tick)
    by_id = {(t.bid_id, t.offer_id): t for t in trades}
    sale = by_id[("b1", "mm_offer")]  # the bid (26 - 1 in mv) covers the tariff 25
    assert (sale.seller, sale.energy_kwh, sale.rate_ct_per_kwh) == ("market_maker", 3.0, 25.0)
    purchase = by_id[("mm_bid", "o1")]  # the offer (9 + 1 in mv) meets the feed-in 10
    assert (purchase.buyer, purchase.seller_rate_ct_per_kwh) == ("market_maker", 9.0)
    assert b.live == {}


def test_devices_of_one_house_trade_in_its_market_but_never_with_themselves():
    b = book()
    b.sync([bid("b1", "h1", 2.0, 18.0, device="h1/battery"),
            offer("o1", "h1", 5.0, 12.0, device="h1/pv"),
            offer("o2", "h1", 5.0, 11.0, device="h1/battery")])
    (t,) = b.tick(0)
    assert (t.market, t.offer_id, t.buyer, t.seller) == ("h1", "o1", "h1", "h1")
    assert t.fees_ct_per_kwh == {}


@pytest.mark.parametrize("rule", ["pay_as_offer", "pay_as_bid", "pay_as_clear", "pda_uniform"])
def test_every_rule_conserves_energy_and_money_on_a_random_community(rule):
    rng = np.random.default_rng(5)
    houses = {f"h{i}": f"f{1 + i % 2}_b{1 + i % 5}" for i in range(12)}
    t = feeder_tree(houses, {"lv_feeder": GridFee(constant_ct_per_kwh=0.8),
                             "mv": GridFee(percent=2.0)})
    b = SlotBook(t, rule, np.random.default_rng(1))
    b.open(3, 25.0, 10.0)
    orders = [(bid if i % 2 else offer)(f"x{i}", h, float(rng.uniform(0.5, 3)),
                                        float(rng.uniform(8, 28)))
              for i, h in enumerate(houses)]
    left = {o.id: o.energy_kwh for o in orders}
    trades = []
    for tick in range(10):
        b.sync([OrderIn(o.id, o.device, o.participant, o.side, left[o.id],
                        o.rate_ct_per_kwh, o.house) for o in orders if left[o.id] > 1e-9])
        new = b.tick(tick)
        for tr in new:
            left[tr.bid_id] -= tr.energy_kwh
            left[tr.offer_id] -= tr.energy_kwh
        trades += new
    assert trades
    assert min(left.values()) >= -1e-9
    for tr in trades:
        assert tr.buyer_rate_ct_per_kwh == pytest.approx(
            tr.seller_rate_ct_per_kwh + sum(tr.fees_ct_per_kwh.values()))
        rates = {o.id: o.rate_ct_per_kwh for o in orders}
        assert tr.buyer_rate_ct_per_kwh <= rates[tr.bid_id] + 1e-6
        assert tr.seller_rate_ct_per_kwh >= rates[tr.offer_id] - 1e-6


def test_percentage_fees_follow_gsy_protocol_b():
    t = AreaTree()
    t.add("mv", None, "mv", GridFee(percent=10.0))
    t.add("h1", "mv", "house", GridFee())
    t.add("h2", "mv", "house", GridFee(percent=5.0))
    assert t.offer_rate(20.0, ["h2", "mv"]) == pytest.approx(23.0)  # 20 x (1 + 0.15)
    assert t.bid_rate(30.0, ["h1"]) == pytest.approx(30.0)
    buyer, seller, fees = t.settle(23.0, ["h1"], ["h2", "mv"])
    assert seller == pytest.approx(20.0) and buyer == pytest.approx(23.0)
    assert fees == pytest.approx({"h2": 1.0, "mv": 2.0})


def test_unknown_rule_is_named():
    with pytest.raises(ValueError, match="rule: 'vickrey' is not one of"):
        SlotBook(tree(), "vickrey", np.random.default_rng(0))

