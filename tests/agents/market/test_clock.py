"""Slot and tick arithmetic of the market (agents.market.clock), with hard numbers."""

from __future__ import annotations

from agents.market.clock import MarketClock

CLOCK = MarketClock(slot_s=900, ticks_per_slot=10)  # 15 min slots, 90 s ticks


def test_tick_length():
    assert CLOCK.tick_s == 90
    assert MarketClock(3600, 12).tick_s == 300


def test_slot_index_and_start():
    assert [CLOCK.slot_index(t) for t in (0, 899, 900, 1799, 2700)] == [0, 0, 1, 1, 3]
    assert [CLOCK.slot_start_s(k) for k in (0, 1, 4)] == [0, 900, 3600]


def test_tick_within_the_slot():
    assert [CLOCK.tick(t) for t in (0, 89, 90, 810, 899, 900, 990)] == [0, 0, 1, 9, 9, 0, 1]


def test_at_gives_the_slot_in_trade_and_its_tick():
    assert CLOCK.at(0) == (1, 0)  # slot 1 is traded during slot 0
    assert CLOCK.at(180) == (1, 2)
    assert CLOCK.at(900) == (2, 0)
    assert CLOCK.at(2610) == (3, 9)


def test_slot_start_and_last_tick():
    assert [CLOCK.is_slot_start(t) for t in (0, 90, 900, 1800, 1890)] == [
        True, False, True, True, False]
    assert [CLOCK.is_last_tick(t) for t in (0, 720, 810, 899, 900, 1710)] == [
        False, False, True, True, False, True]
