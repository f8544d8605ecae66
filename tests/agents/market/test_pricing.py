"""Order pricing strategies inside the market-maker limits."""

import numpy as np
import pytest

from agents.market.pricing import Limits, Pricing, UniformDraws

LIM = Limits(10.0, 30.0)
SLOT, TICK = 900.0, 90.0


def rates(p, side, limits=LIM, seed=0):
    rng = np.random.default_rng(seed)
    return [p.rate(side, limits, k * TICK, SLOT, TICK, rng) for k in range(10)]


def test_gsy_ramp_fit_to_limit_reaches_the_limit_at_the_last_update():
    # 900 s slot, 300 s updates: n = 2 steps of 10 ct; updates at 300 s (tick 4) and 600 s
    # (tick 7)
    assert rates(Pricing("gsy_ramp", 300.0), "bid") == [10] * 4 + [20] * 3 + [30] * 3
    assert rates(Pricing("gsy_ramp", 300.0), "offer") == [30] * 4 + [20] * 3 + [10] * 3


def test_gsy_ramp_fixed_step_stops_at_the_limit():
    p = Pricing("gsy_ramp", 90.0, fit_to_limit=False, change_per_update_ct_per_kwh=4.0)
    assert rates(p, "bid") == [10, 14, 18, 22, 26, 30, 30, 30, 30, 30]


def test_linear_moves_from_one_limit_to_the_other_over_the_window():
    r = rates(Pricing("linear", 90.0), "offer")  # updated every tick: reaches low at the last
    assert r[0] == 30.0 and r[-1] == pytest.approx(10.0)
    assert np.all(np.diff(r) < 0)
    r = rates(Pricing("linear", 300.0), "bid")  # last update point at 600 s (tick 7)
    assert r[4] == pytest.approx(10.0 + 20.0 * 360 / 600) and r[7:] == [30.0] * 3


def test_zero_intelligence_is_uniform_in_range_and_seeded():
    p = Pricing("zero_intelligence")
    a, b, c = rates(p, "bid", seed=1), rates(p, "bid", seed=1), rates(p, "bid", seed=2)
    assert a == b and a != c
    assert all(10.0 <= r <= 30.0 for r in a)


def test_retailer_prices_at_the_retail_limits():
    assert set(rates(Pricing("retailer"), "bid")) == {30.0}
    assert set(rates(Pricing("retailer"), "offer")) == {10.0}


def test_storage_buys_below_and_sells_above_the_middle():
    buy, sell = LIM.for_storage("bid"), LIM.for_storage("offer")
    assert (buy.low_ct_per_kwh, buy.high_ct_per_kwh) == (10.0, 19.0)
    assert (sell.low_ct_per_kwh, sell.high_ct_per_kwh) == (21.0, 30.0)


def test_unknown_strategy_is_named():
    with pytest.raises(ValueError, match="strategy: 'greedy' is not one of"):
        Pricing("greedy")


@pytest.mark.parametrize("block", [1, 7, 256])
def test_uniform_draws_are_the_generators_draws_bit_for_bit(block):
    # numpy's uniform(low, high) over many bounds (narrow, wide, shifted, equal), and a
    # block size that makes the draws straddle refills
    bounds = np.random.default_rng(3)
    lows = bounds.uniform(-50.0, 50.0, 2000)
    spans = bounds.choice([0.0, 1e-9, 0.5, 20.0, 1e6], 2000) * bounds.random(2000)
    ref, draws = np.random.default_rng(11), UniformDraws(np.random.default_rng(11), block)
    pairs = list(zip(lows.tolist(), spans.tolist(), strict=True))
    got = [draws.uniform(lo, lo + sp) for lo, sp in pairs]
    want = [float(ref.uniform(lo, lo + sp)) for lo, sp in pairs]
    assert got == want


def test_zero_intelligence_rates_from_draws_match_the_generator():
    p = Pricing("zero_intelligence", 300.0)
    want = rates(p, "bid", seed=5)
    draws = UniformDraws(np.random.default_rng(5), 3)
    assert [p.rate("bid", LIM, k * TICK, SLOT, TICK, draws) for k in range(10)] == want
