"""The market figure on the hand-worked and on a seeded random community: the energy it
stacks is every traded kWh (per slot, or per local day for a long run), the daily p2p
rate is the energy-weighted mean, and it draws one artist per series however long the
run (no bar per slot)."""

import math
from collections import defaultdict

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from tests.twin.report.market.market_fixtures import TZ, random_community
from twin.report.market.plots import SOURCES, daily_p2p_rate, price_volume, volume_shown
from twin.report.market.summary import p2p_trades

SLOTS_PER_DAY = 96


def _levels(record) -> dict[str, str]:
    return dict(zip(record.areas["area"], record.areas["level"], strict=True))


def _energy_by_day(trades: pd.DataFrame) -> dict:
    """Oracle: every trade's energy summed by the local date of its slot, in a loop."""
    out: dict = defaultdict(float)
    for slot, e in zip(trades["slot_start"], trades["energy_kwh"], strict=True):
        out[slot.tz_convert(TZ).date()] += float(e)
    return out


@pytest.fixture(scope="module")
def long_record():
    """16 days of 15-min slots: longer than LONG_RUN_DAYS, so drawn per day."""
    return random_community(houses=6, slots=16 * SLOTS_PER_DAY, seed=3)


def test_short_run_stacks_every_slot_and_every_kwh(record):
    v = volume_shown(record.trades, _levels(record), record.prices, TZ)
    assert list(v.columns) == SOURCES and len(v) == len(record.prices)
    assert v.index[0] == pd.Timestamp("2024-06-01 10:00")  # local wall-clock slot start
    for day, e_kwh in _energy_by_day(record.trades).items():
        assert v[v.index.date == day].to_numpy().sum() == pytest.approx(e_kwh, abs=1e-12)
    assert v["own (behind the meter)"].iloc[0] == pytest.approx(3.0)  # T1 + T4, in h1


def test_long_run_is_summed_per_day_without_losing_energy(long_record):
    v = volume_shown(long_record.trades, _levels(long_record), long_record.prices, TZ)
    oracle = _energy_by_day(long_record.trades)
    assert len(v) == 16 and [d.date() for d in v.index] == sorted(oracle)
    for day, row in v.iterrows():
        assert row.sum() == pytest.approx(oracle[day.date()], rel=1e-12)


def test_daily_p2p_rate_is_the_energy_weighted_mean(long_record):
    rate = daily_p2p_rate(long_record.trades, TZ)
    p2p = p2p_trades(long_record.trades)
    num, den = defaultdict(float), defaultdict(float)
    for slot, e, r in zip(p2p["slot_start"], p2p["energy_kwh"], p2p["rate_ct_per_kwh"],
                          strict=True):
        num[slot.tz_convert(TZ).date()] += e * r
        den[slot.tz_convert(TZ).date()] += e
    assert len(rate) == 16
    for day, value in rate.items():
        assert value == pytest.approx(num[day.date()] / den[day.date()], rel=1e-12)
        assert not math.isnan(value)


def _artists(fig) -> list[int]:
    return [len(ax.patches) + len(ax.collections) + len(ax.lines) for ax in fig.axes]


def test_one_artist_per_series_however_long_the_run(record, long_record):
    short = price_volume(record.trades, _levels(record), record.prices, TZ)
    long = price_volume(long_record.trades, _levels(long_record), long_record.prices, TZ)
    try:
        volume_axes = long.axes[1]
        assert len(volume_axes.patches) == 0 and len(volume_axes.collections) == len(SOURCES)
        assert _artists(long)[1] == _artists(short)[1]  # 1536 slots, not 1536 bars a source
        assert sum(_artists(long)) <= 20
        assert "per day" in long.axes[0].get_title() and "slot" in short.axes[0].get_title()
    finally:
        plt.close(short)
        plt.close(long)
