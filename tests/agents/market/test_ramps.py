"""gsy-e's price ramps inside a market slot (agents.market.ramps)."""

from __future__ import annotations

import pytest

from agents.market.ramps import RateRamp


def test_fit_to_limit_seller_reaches_the_final_rate_at_the_last_update():
    ramp = RateRamp(30.0, 10.0, update_interval_s=300, slot_length_s=900)
    assert ramp.n_updates == 2  # 900 / 300 - 1
    assert [ramp.rate(t) for t in (0, 299, 300, 600, 899)] == [30, 30, 20, 10, 10]


def test_fit_to_limit_buyer_ramps_up():
    ramp = RateRamp(12.0, 28.0, update_interval_s=60, slot_length_s=900)
    rates = [ramp.rate(60 * k) for k in range(15)]
    assert ramp.n_updates == 14
    assert rates[0] == 12.0 and rates[-1] == pytest.approx(28.0)
    assert all(b > a for a, b in zip(rates, rates[1:], strict=False))


def test_fixed_step_stops_at_the_final_rate():
    ramp = RateRamp(30.0, 21.0, 300, 1800, fit_to_limit=False, change_per_update_ct_per_kwh=4)
    assert [ramp.rate(300 * k) for k in range(5)] == [30, 26, 22, 21, 21]


@pytest.mark.parametrize(("kw", "field"), [
    ({"update_interval_s": 0}, "update_interval"),
    ({"update_interval_s": 1000}, "update_interval"),
    ({"fit_to_limit": False}, "change_per_update"),
])
def test_bad_ramps_name_the_field(kw, field):
    args = {"initial_ct_per_kwh": 30.0, "final_ct_per_kwh": 10.0, "update_interval_s": 300,
            "slot_length_s": 900, **kw}
    with pytest.raises(ValueError, match=field):
        RateRamp(**args)
