"""The fast clearing rules against the nested-loop oracle, on seeded random books.

Trade for trade (same pairs, order, energies and rates, compared exactly), plus the
invariants every rule must keep whatever the oracle says.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict

import numpy as np
import pytest

from agents.market import clearing
from agents.market.clearing import Order
from tests.agents.market import oracle

TOL, EPS = 2e-5, 1e-9

# (kind, n_bids, n_offers): the kinds are described in _book
CASES = [(kind, nb, no) for kind in ("spread", "levels", "near", "integers", "few_traders",
                                     "no_overlap", "zeros")
         for nb, no in ((1, 40), (40, 1), (25, 25), (80, 60), (0, 5), (5, 0))]
SEEDS = (0, 1, 2)


def _book(seed: int, kind: str, n_bids: int, n_offers: int):
    """A seeded random book. spread: rates U(5,35) bids / U(0,30) offers (2 decimals),
    energies U(0.1,5) (1 decimal); levels: a few rates shared by many orders; near:
    rates closer together than the tolerance (20, 20.00001, 20.00003 ...); integers:
    integer rates and energies, some 0; few_traders: three traders on both sides (self-
    trades everywhere); no_overlap: every offer above every bid; zeros: many empty
    orders and equal rates."""
    g = np.random.default_rng([seed, n_bids, n_offers, len(kind)])
    n_traders = 3 if kind == "few_traders" else max(2, (n_bids + n_offers) // 2)
    traders = [f"t{i}" for i in range(n_traders)]

    def rate(side):
        if kind == "levels":
            return float(g.choice([10.0, 15.0, 20.0, 25.0]))
        if kind == "near":
            return float(20 + g.choice([0, 1, 1.5, 3, 40]) * 1e-5 + (5 if side == "b" else 0))
        if kind == "integers":
            return int(g.integers(5, 35) if side == "b" else g.integers(0, 30))
        if kind == "no_overlap":
            return float(round(g.uniform(5, 15) if side == "b" else g.uniform(16, 30), 2))
        if kind == "zeros":
            return float(g.choice([12.0, 18.0]))
        return float(round(g.uniform(5, 35) if side == "b" else g.uniform(0, 30), 2))

    def energy():
        if kind == "integers":
            return int(g.integers(0, 5))
        if kind == "zeros" and g.random() < 0.4:
            return 0.0
        return float(round(g.uniform(0.1, 5), 1))

    bids = [Order(f"B{i}", str(g.choice(traders)), energy(), rate("b")) for i in range(n_bids)]
    offers = [Order(f"O{i}", str(g.choice(traders)), energy(), rate("o"))
              for i in range(n_offers)]
    return bids, offers


def _rows(trades):
    return [asdict(t) for t in trades]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("kind", "n_bids", "n_offers"), CASES)
def test_fast_rules_equal_the_oracle(seed, kind, n_bids, n_offers, monkeypatch):
    bids, offers = _book(seed, kind, n_bids, n_offers)
    assert _rows(clearing.pay_as_bid(bids, offers)) == _rows(oracle.pay_as_bid(bids, offers))
    assert clearing.clearing_rate(bids, offers) == oracle.clearing_rate(bids, offers)
    with monkeypatch.context() as m:  # cumulative sums also where the book is small
        m.setattr(clearing, "SMALL_BOOK", 0)
        assert clearing.clearing_rate(bids, offers) == oracle.clearing_rate(bids, offers)
    for self_trades in (True, False):
        fast = clearing.pay_as_clear(bids, offers, self_trades)
        slow = oracle.pay_as_clear(bids, offers, self_trades)
        assert fast[0] == slow[0] and _rows(fast[1]) == _rows(slow[1])
    fast, slow = clearing.pda_uniform(bids, offers), oracle.pda_uniform(bids, offers)
    assert fast[0] == slow[0] and _rows(fast[1]) == _rows(slow[1])
    fast = clearing.pay_as_offer(bids, offers, np.random.default_rng(seed))
    slow = oracle.pay_as_offer(bids, offers, np.random.default_rng(seed))
    assert _rows(fast) == _rows(slow)


@pytest.mark.parametrize("seed", range(4))
def test_one_bid_against_many_offers_and_one_trader_on_both_sides(seed):
    g = np.random.default_rng(seed)
    offers = [Order(f"O{i}", "me" if i % 3 == 0 else f"s{i}", float(g.integers(1, 4)),
                    float(g.choice([10.0, 12.0, 12.0, 30.0]))) for i in range(120)]
    for bids in ([Order("B0", "me", 100.0, 20.0)],
                 [Order(f"B{i}", "me" if i % 2 else f"b{i}", 2.0, 20.0) for i in range(60)]):
        assert _rows(clearing.pay_as_bid(bids, offers)) == _rows(oracle.pay_as_bid(bids, offers))
        assert (clearing.pay_as_clear(bids, offers, False)
                == oracle.pay_as_clear(bids, offers, False))
        assert clearing.pda_uniform(bids, offers) == oracle.pda_uniform(bids, offers)
        assert (clearing.pay_as_offer(bids, offers, np.random.default_rng(seed))
                == oracle.pay_as_offer(bids, offers, np.random.default_rng(seed)))


def _filled(trades, orders, side):
    used = defaultdict(float)
    for t in trades:
        used[getattr(t, side)] += t.energy_kwh
    return {o.id: o.energy_kwh - used[o.id] for o in orders}


def _check_invariants(rule, trades, bids, offers, no_self, maximal, offer_rates=True):
    bid, offer = {b.id: b for b in bids}, {o.id: o for o in offers}
    for t in trades:
        assert t.energy_kwh > EPS, (rule, t)
        assert t.rate_ct_per_kwh <= bid[t.bid_id].rate_ct_per_kwh + TOL, (rule, t)
        if offer_rates:
            assert t.rate_ct_per_kwh >= offer[t.offer_id].rate_ct_per_kwh - TOL, (rule, t)
        assert (t.buyer, t.seller) == (bid[t.bid_id].trader, offer[t.offer_id].trader)
        if no_self:
            assert t.buyer != t.seller, (rule, t)
    bid_left, offer_left = _filled(trades, bids, "bid_id"), _filled(trades, offers, "offer_id")
    assert min([*bid_left.values(), *offer_left.values(), 0.0]) >= -EPS, rule  # no over-fill
    total = sum(t.energy_kwh for t in trades)  # what was bought was sold
    assert sum(b.energy_kwh - bid_left[b.id] for b in bids) == pytest.approx(total)
    assert sum(o.energy_kwh - offer_left[o.id] for o in offers) == pytest.approx(total)
    if maximal:  # nothing left that could still have traded
        for b in bids:
            for o in offers:
                assert not (bid_left[b.id] > 1e-6 and offer_left[o.id] > 1e-6
                            and b.trader != o.trader
                            and o.rate_ct_per_kwh <= b.rate_ct_per_kwh + TOL), (rule, b, o)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("kind", "n_bids", "n_offers"), CASES)
def test_invariants(seed, kind, n_bids, n_offers):
    bids, offers = _book(seed, kind, n_bids, n_offers)
    _check_invariants("pay_as_bid", clearing.pay_as_bid(bids, offers), bids, offers,
                      no_self=True, maximal=True)
    _check_invariants("pay_as_offer",
                      clearing.pay_as_offer(bids, offers, np.random.default_rng(seed)),
                      bids, offers, no_self=True, maximal=True)
    rate, trades = clearing.pda_uniform(bids, offers)
    both_sides = {b.trader for b in bids} & {o.trader for o in offers}
    _check_invariants("pda_uniform", trades, bids, offers, no_self=True, maximal=True,
                      offer_rates=not both_sides)  # see the xfail test below
    assert {t.rate_ct_per_kwh for t in trades} == ({rate} if trades else set())
    for self_trades in (True, False):
        rate, trades = clearing.pay_as_clear(bids, offers, self_trades)
        _check_invariants("pay_as_clear", trades, bids, offers, no_self=not self_trades,
                          maximal=False)
        assert {t.rate_ct_per_kwh for t in trades} <= {rate}
        if rate is None:
            assert not trades
            continue
        assert rate in {b.rate_ct_per_kwh for b in bids}  # always a bid rate
        if self_trades:  # the smaller of demand and supply at that rate is traded
            demand = sum(b.energy_kwh for b in bids if b.rate_ct_per_kwh >= rate - TOL)
            supply = sum(o.energy_kwh for o in offers if o.rate_ct_per_kwh <= rate + TOL)
            assert sum(t.energy_kwh for t in trades) == pytest.approx(min(demand, supply))


@pytest.mark.xfail(strict=True, reason="pda_uniform as specified: a buyer skipping its own "
                   "cheap offer leaves it to a later, lower bid, so the last pair (the price) "
                   "can lie below an earlier matched offer's rate")
def test_pda_uniform_price_below_an_offer_when_a_trader_is_on_both_sides():
    bids = [Order("B1", "a", 1.0, 30.0), Order("B2", "b", 1.0, 20.0)]
    offers = [Order("O1", "a", 1.0, 10.0), Order("O2", "c", 1.0, 25.0)]
    rate, trades = clearing.pda_uniform(bids, offers)
    # B1 skips a's own O1 and takes O2 (25); B2 takes O1 (10): all at (20 + 10) / 2 = 15
    assert [(t.bid_id, t.offer_id) for t in trades] == [("B1", "O2"), ("B2", "O1")]
    assert rate >= 25.0  # fails: c sells at 15, below its 25


def test_no_overlap_clears_nothing_but_pay_as_clear_may_price_it():
    bids, offers = _book(0, "no_overlap", 30, 30)
    assert clearing.pay_as_bid(bids, offers) == []
    assert clearing.pay_as_offer(bids, offers, np.random.default_rng(0)) == []
    assert clearing.pda_uniform(bids, offers) == (None, [])
    assert clearing.pay_as_clear(bids, offers) == (None, [])  # no supply at any bid rate


def test_clearing_rate_near_tie_is_decided_as_summed_in_input_order(monkeypatch):
    monkeypatch.setattr(clearing, "SMALL_BOOK", 0)  # the cumulative sums, not the loops
    # demand at 10 ct/kWh: 0.1 + 0.1 + 0.1 + 1.1 + 0.0 in input order is 1.4000000000000001,
    # from the highest bid down (a cumulative sum) 1.4000000000000004; the supply, 1e-9 kWh
    # short of the first, covers it by the definition (demand less 1e-9) but not the second
    bids = [Order("B1", "a", 0.1, 10.0), Order("B2", "b", 0.1, 10.0), Order("B3", "c", 0.1, 10.0),
            Order("B4", "d", 1.1, 10.0), Order("B5", "e", 0.0, 30.0)]
    offers = [Order("O1", "s", 0.1 + 0.1 + 0.1 + 1.1 - 1e-9, 5.0)]
    assert oracle.clearing_rate(bids, offers) == 10.0  # not 30.0
    assert clearing.clearing_rate(bids, offers) == 10.0
    demand, supply, _, _ = clearing.demand_supply_sums([10.0, 30.0], bids, offers)
    assert not supply[0] >= demand[0] - EPS  # the cumulative sums alone would say 30
    rate, trades = clearing.pay_as_clear(bids, offers)
    assert (rate, len(trades)) == (10.0, 4)
