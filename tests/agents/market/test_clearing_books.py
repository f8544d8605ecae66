"""Hand-worked books per clearing rule, with the trades worked out in the comments.

These add what ``test_clearing.py`` (gsy's reference books) does not cover: ties among
equal rates, partial fills, the rate tolerance, one bid against many offers, self-pairs
skipped, and books that clear nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.market.clearing import Order, pay_as_bid, pay_as_clear, pay_as_offer, pda_uniform

MANY_OFFERS = [Order("O1", "s1", 2, 10), Order("O2", "s2", 2, 20), Order("O3", "s3", 2, 30),
               Order("O4", "s4", 2, 20)]
ONE_BID = [Order("B1", "a", 5, 25)]


def _rows(trades):
    return [(t.bid_id, t.offer_id, t.energy_kwh, t.rate_ct_per_kwh) for t in trades]


def test_pay_as_bid_bid_skipped_as_self_pair_stays_open_for_later_offers():
    bids = [Order("B1", "alice", 2, 30), Order("B2", "bob", 1, 20)]
    offers = [Order("O1", "alice", 2, 18), Order("O2", "carol", 3, 16)]
    # O1 (18, alice) skips alice's B1 and takes bob's B2; O2 (16) then takes B1 whole
    assert _rows(pay_as_bid(bids, offers)) == [("B2", "O1", 1, 20), ("B1", "O2", 2, 30)]


def test_pay_as_bid_rate_tolerance():
    bids = [Order("B1", "a", 1, 20)]
    offers = [Order("O1", "s", 1, 20.000015), Order("O2", "t", 1, 20.00003)]
    # O2 is 3e-5 ct/kWh above the bid: more than 2e-5, no match; O1 is within it
    assert _rows(pay_as_bid(bids, offers)) == [("B1", "O1", 1, 20)]


def test_pay_as_bid_one_bid_against_many_offers():
    # offers descending: O3 (30, above the bid), then equal 20s later first: O4, O2; O1
    assert _rows(pay_as_bid(ONE_BID, MANY_OFFERS)) == [
        ("B1", "O4", 2, 25), ("B1", "O2", 2, 25), ("B1", "O1", 1, 25)]


def test_pay_as_bid_equal_bids_later_first_and_partial_fill():
    bids = [Order("B1", "a", 1, 20), Order("B2", "b", 3, 20), Order("B3", "c", 2, 20)]
    offers = [Order("O1", "s", 4, 15)]
    # equal bids visited B3, B2, B1; O1's 4 kWh fill B3 and 2 of B2's 3
    assert _rows(pay_as_bid(bids, offers)) == [("B3", "O1", 2, 20), ("B2", "O1", 2, 20)]


def test_pay_as_clear_one_bid_against_many_offers():
    # at 25: supply O1 + O2 + O4 = 6 covers the 5 kWh; offers ascending O1, O2, O4
    rate, trades = pay_as_clear(ONE_BID, MANY_OFFERS)
    assert rate == 25
    assert _rows(trades) == [("B1", "O1", 2, 25), ("B1", "O2", 2, 25), ("B1", "O4", 1, 25)]


def test_pay_as_clear_lowest_covering_bid_rate_with_ties():
    bids = [Order("B1", "a", 2, 30), Order("B2", "b", 2, 20), Order("B3", "c", 2, 20),
            Order("B4", "d", 2, 10)]
    offers = [Order("O1", "s", 3, 12), Order("O2", "t", 3, 18)]
    # at 10 no supply; at 20 supply 6 covers demand 6 (B1, B2, B3): the rate is 20.
    # bids descending B1, B3, B2 (equal 20s later first) fill from O1, O2 ascending
    rate, trades = pay_as_clear(bids, offers)
    assert rate == 20
    assert _rows(trades) == [("B1", "O1", 2, 20), ("B3", "O1", 1, 20), ("B3", "O2", 1, 20),
                             ("B2", "O2", 2, 20)]


def test_pay_as_clear_no_overlap_has_no_rate():
    assert pay_as_clear([Order("B1", "a", 1, 10)], [Order("O1", "s", 1, 11)]) == (None, [])


def test_pay_as_offer_partial_fill_and_a_bid_below_every_offer():
    bids = [Order("B1", "a", 3, 15), Order("B2", "b", 2, 5)]
    offers = [Order("O1", "s", 2, 12), Order("O2", "t", 2, 10), Order("O3", "u", 5, 20)]
    # B1: O2 (10) whole, then 1 of O1 (12); B2 (5) is below every offer
    assert _rows(pay_as_offer(bids, offers, np.random.default_rng(0))) == [
        ("B1", "O2", 2, 10), ("B1", "O1", 1, 12)]


@pytest.mark.parametrize("seed", range(6))
def test_pay_as_offer_tie_draw_leaves_out_the_buyers_own_offer(seed):
    bids = [Order("B1", "a", 1, 30)]
    offers = [Order("O1", "a", 1, 20), Order("O2", "s", 1, 20), Order("O3", "t", 1, 20),
              Order("O4", "u", 1, 25)]
    # ties at 20 without a's own O1: [O2, O3], drawn with integers(2)
    expected = ["O2", "O3"][int(np.random.default_rng(seed).integers(2))]
    assert _rows(pay_as_offer(bids, offers, np.random.default_rng(seed))) == [
        ("B1", expected, 1, 20)]


@pytest.mark.parametrize("seed", range(4))
def test_pay_as_offer_ties_within_the_tolerance_in_input_order(seed):
    bids = [Order("B1", "a", 2, 30)]
    offers = [Order("O1", "s", 1, 20.00001), Order("O2", "t", 1, 20)]
    # the cheapest is O2 (20); O1 is within 2e-5 of it: ties [O1, O2] in input order;
    # the one drawn first, then the other alone (no draw)
    first = int(np.random.default_rng(seed).integers(2))
    expected = [("B1", "O1", 1, 20.00001), ("B1", "O2", 1, 20)]
    assert _rows(pay_as_offer(bids, offers, np.random.default_rng(seed))) == [
        expected[first], expected[1 - first]]


def test_pda_uniform_equal_bids_later_first():
    bids = [Order("B1", "a", 1, 20), Order("B2", "b", 1, 20)]
    offers = [Order("O1", "s", 1, 10), Order("O2", "t", 1, 10)]
    rate, trades = pda_uniform(bids, offers)
    assert rate == 15 and _rows(trades) == [("B2", "O1", 1, 15), ("B1", "O2", 1, 15)]


def test_pda_uniform_skips_the_buyers_own_offer():
    bids = [Order("B1", "a", 2, 30)]
    offers = [Order("O1", "a", 1, 5), Order("O2", "s", 3, 25)]
    rate, trades = pda_uniform(bids, offers)
    assert rate == 27.5 and _rows(trades) == [("B1", "O2", 2, 27.5)]


def test_pda_uniform_one_bid_against_many_offers_and_no_overlap():
    # offers ascending O1, O2, O4 (equal 20s in input order), O3 (30) above the bid;
    # the last pair B1/O4 prices all: (25 + 20) / 2
    rate, trades = pda_uniform(ONE_BID, MANY_OFFERS)
    assert rate == 22.5
    assert _rows(trades) == [("B1", "O1", 2, 22.5), ("B1", "O2", 2, 22.5), ("B1", "O4", 1, 22.5)]
    assert pda_uniform([Order("B1", "a", 1, 10)], [Order("O1", "s", 1, 11)]) == (None, [])
