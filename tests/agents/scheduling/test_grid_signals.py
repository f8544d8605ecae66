"""Grid operator signals (OpenADR windows) as scheduler input."""

import dataclasses

import numpy as np
import pytest

from agents.scheduling.grid_signals import UNLIMITED_KW, signal_series
from tests.agents.control.builders import site_state, small_strategy


def test_signal_series_limits_and_prices_in_their_windows():
    price = np.full(6, 0.2)
    windows = [(900, 2700, 40.0, None), (1800, 3600, 25.0, 0.5), (0, 900, None, None)]
    limit, p = signal_series(windows, 0, 6, 900, 100.0, price)
    np.testing.assert_allclose(limit, [100, 40, 25, 25, 100, 100])  # tightest wins
    np.testing.assert_allclose(p, [0.2, 0.2, 0.5, 0.5, 0.2, 0.2])
    assert price[2] == 0.2  # the tariff passed in is not changed


def test_signal_series_counts_from_the_plan_start_and_partial_overlap():
    limit, _ = signal_series([(4000, 4100, 10.0, None)], 4, 2, 900, None, np.zeros(2))
    np.testing.assert_allclose(limit, [10.0, UNLIMITED_KW])  # overlaps step 4 [3600, 4500)
    none, _ = signal_series([], 0, 3, 900, None, np.zeros(3))
    assert none is None


def test_strategy_replans_on_a_signal_and_keeps_under_the_limit():
    price = np.array([0.1] * 8)  # cheap all along: the battery would charge at 10 kW
    strategy = small_strategy(price)
    state = site_state(0, 5.0)
    strategy.decide(state)
    assert strategy.planned(0)[0][0] == pytest.approx(10.0)
    # the grid operator limits the site to 4 kW over steps 0-1 (inflexible load is 2 kW)
    limited = dataclasses.replace(state, grid_signals=((0.0, 1800.0, 4.0, None),))
    out = strategy.decide(limited)
    assert strategy.stats.reasons.get("grid signal") == 1
    assert out.battery_p_kw[0] <= 2.0 + 1e-6
    body = strategy.request(limited, 4)
    assert body["flex-context"]["site-consumption-capacity"][0]["value"] == "4.0 kW"


def test_signal_limits_leave_room_for_the_feeder_losses():
    def device(limit_kw):  # 10 % of the import goes to losses
        return limit_kw / 1.1

    limit, _ = signal_series([(900, 1800, 44.0, None)], 0, 3, 900, 110.0, np.zeros(3),
                             device)
    np.testing.assert_allclose(limit, [100.0, 40.0, 100.0])
    free, _ = signal_series([(0, 900, 11.0, None)], 0, 2, 900, None, np.zeros(2), device)
    np.testing.assert_allclose(free, [10.0, UNLIMITED_KW])  # no limit stays no limit


def test_the_site_capacity_sent_is_the_devices_side_of_the_rating():
    strategy = small_strategy(np.full(8, 0.1), site={"site_capacity_kw": 12.0,
                                                "import_to_device_kw": lambda v: v - 3.0})
    context = strategy.request(site_state(0, 5.0), 4)["flex-context"]
    assert context["site-consumption-capacity"] == "9.0 kW"
    assert context["site-production-capacity"] == "12.0 kW"  # export needs no room
    strategy.decide(site_state(0, 5.0))  # inflexible 2 kW: the battery gets 7, not 10 kW
    assert strategy.planned(0)[0][0] == pytest.approx(7.0, abs=1e-6)
