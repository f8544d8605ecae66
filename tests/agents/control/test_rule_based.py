"""The rule-based site controller (agents.control.rule_based)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pytest

from agents.control.rule_based import RuleBasedStrategy, in_window, share
from agents.control.strategy import Setpoints, SiteState

MQ = zoneinfo.ZoneInfo("America/Martinique")


def _state(hour: int = 12, minute: int = 0, *, pv=(0.0,), load=(0.0,), battery_p_max=(50.0, 50.0),
           battery_p_min=None, charger_p_max=(0.0,), charger_rated=None) -> SiteState:
    p_max = np.asarray(battery_p_max, dtype=float)
    p_min = -p_max if battery_p_min is None else np.asarray(battery_p_min, dtype=float)
    chargers = np.asarray(charger_p_max, dtype=float)
    return SiteState(
        time=dt.datetime(2026, 6, 1, hour, minute, tzinfo=MQ),
        dt_s=900.0,
        pv_p_kw=np.asarray(pv, dtype=float),
        load_p_kw=np.asarray(load, dtype=float),
        battery_p_min_kw=p_min,
        battery_p_max_kw=p_max,
        battery_soc_percent=np.full(len(p_max), 50.0),
        charger_p_min_kw=-chargers,
        charger_p_max_kw=chargers,
        charger_rated_p_kw=np.full(len(chargers), 22.0) if charger_rated is None
        else np.asarray(charger_rated, dtype=float),
        import_price_eur_per_kwh=0.2062,
        feed_in_price_eur_per_kwh=0.10,
    )


# ----------------------------------------------------------------------------- share


def test_share_proportional():
    np.testing.assert_allclose(share(30.0, np.array([50.0, 25.0, 0.0])), [20.0, 10.0, 0.0])


def test_share_capped_by_capacity():
    np.testing.assert_array_equal(share(500.0, np.array([30.0, 10.0])), [30.0, 10.0])


def test_share_exactly_capacity():
    np.testing.assert_array_equal(share(40.0, np.array([30.0, 10.0])), [30.0, 10.0])


def test_share_zero_capacity():
    out = share(10.0, np.zeros(3))
    np.testing.assert_array_equal(out, np.zeros(3))
    assert out.shape == (3,)


def test_share_zero_or_negative_total():
    np.testing.assert_array_equal(share(0.0, np.array([5.0, 5.0])), [0.0, 0.0])
    np.testing.assert_array_equal(share(-3.0, np.array([5.0, 5.0])), [0.0, 0.0])


def test_share_negative_capacity_counts_as_zero():
    np.testing.assert_allclose(share(6.0, np.array([-4.0, 3.0, 9.0])), [0.0, 1.5, 4.5])


def test_share_empty():
    assert share(10.0, np.zeros(0)).shape == (0,)


# ----------------------------------------------------------------------------- in_window


@pytest.mark.parametrize(
    ("t", "expected"),
    [(dt.time(16, 59), False), (dt.time(17), True), (dt.time(21, 59), True), (dt.time(22), False)],
)
def test_in_window_plain(t, expected):
    assert in_window(t, dt.time(17), dt.time(22)) is expected


@pytest.mark.parametrize(
    ("t", "expected"),
    [(dt.time(23), True), (dt.time(0), True), (dt.time(5, 59), True),
     (dt.time(6), False), (dt.time(12), False), (dt.time(21, 59), False), (dt.time(22), True)],
)
def test_in_window_wraps_midnight(t, expected):
    assert in_window(t, dt.time(22), dt.time(6)) is expected


def test_in_window_empty_when_start_equals_end():
    assert not in_window(dt.time(17), dt.time(17), dt.time(17))
    assert not in_window(dt.time(3), dt.time(17), dt.time(17))


# ----------------------------------------------------------------------------- decide


def test_decide_surplus_shared_by_p_max():
    state = _state(pv=[-30.0, -20.0], load=[5.0, 5.0], battery_p_max=[50.0, 30.0])
    out = RuleBasedStrategy().decide(state)
    assert isinstance(out, Setpoints)
    np.testing.assert_allclose(out.battery_p_kw, [25.0, 15.0])  # 40 kW surplus, 5:3
    np.testing.assert_array_equal(out.charger_p_kw, [22.0])  # ready for an arrival


def test_decide_surplus_capped_by_headroom():
    state = _state(pv=[-100.0], load=[0.0], battery_p_max=[30.0, 10.0, 0.0])
    out = RuleBasedStrategy().decide(state)
    np.testing.assert_array_equal(out.battery_p_kw, [30.0, 10.0, 0.0])


def test_decide_surplus_with_full_batteries_idle():
    state = _state(pv=[-20.0], battery_p_max=[0.0, 0.0])
    np.testing.assert_array_equal(RuleBasedStrategy().decide(state).battery_p_kw, [0.0, 0.0])


def test_decide_ev_full_power():
    state = _state(pv=[-40.0], load=[3.0], charger_p_max=[22.0, 0.0, 7.4],
                   charger_rated=[22.0, 11.0, 22.0])
    out = RuleBasedStrategy().decide(state)
    # every charger at its rating: an EV arriving mid-step charges from its arrival
    np.testing.assert_array_equal(out.charger_p_kw, [22.0, 11.0, 22.0])
    # the EVs plugged in now are part of the site's net: -40 + 3 + 29.4 = -7.6 kW surplus
    np.testing.assert_allclose(out.battery_p_kw, [3.8, 3.8])


def test_decide_ev_full_power_does_not_alias_state():
    state = _state(charger_p_max=[11.0], charger_rated=[11.0])
    out = RuleBasedStrategy().decide(state)
    out.charger_p_kw[0] = 0.0
    assert state.charger_rated_p_kw[0] == 11.0


def test_decide_ev_full_power_off():
    state = _state(pv=[-40.0], load=[3.0], charger_p_max=[22.0, 7.4])
    out = RuleBasedStrategy(ev_full_power=False).decide(state)
    np.testing.assert_array_equal(out.charger_p_kw, [0.0, 0.0])
    np.testing.assert_allclose(out.battery_p_kw, [18.5, 18.5])


def test_decide_evening_discharge_covers_import():
    state = _state(18, pv=[0.0], load=[30.0], battery_p_min=[-50.0, -25.0])
    out = RuleBasedStrategy().decide(state)
    np.testing.assert_allclose(out.battery_p_kw, [-20.0, -10.0])
    assert out.battery_p_kw.sum() == pytest.approx(-30.0, abs=1e-12)


def test_decide_evening_discharge_capped_by_p_min():
    state = _state(20, load=[100.0], battery_p_min=[-20.0, -10.0])
    out = RuleBasedStrategy().decide(state)
    np.testing.assert_array_equal(out.battery_p_kw, [-20.0, -10.0])


def test_decide_evening_covers_ev_import():
    state = _state(19, load=[2.0], charger_p_max=[22.0], battery_p_min=[-50.0, -50.0])
    out = RuleBasedStrategy().decide(state)
    np.testing.assert_allclose(out.battery_p_kw, [-12.0, -12.0])


@pytest.mark.parametrize(("hour", "minute"), [(12, 0), (16, 59), (22, 0), (3, 0)])
def test_decide_import_outside_window_idle(hour, minute):
    state = _state(hour, minute, load=[30.0])
    np.testing.assert_array_equal(RuleBasedStrategy().decide(state).battery_p_kw, [0.0, 0.0])


def test_decide_window_start_inclusive():
    state = _state(17, 0, load=[30.0])
    np.testing.assert_allclose(RuleBasedStrategy().decide(state).battery_p_kw, [-15.0, -15.0])


def test_decide_evening_surplus_still_charges():
    state = _state(18, pv=[-10.0], load=[4.0])
    np.testing.assert_allclose(RuleBasedStrategy().decide(state).battery_p_kw, [3.0, 3.0])


def test_decide_balanced_site_idle():
    state = _state(18, pv=[-10.0], load=[10.0])
    np.testing.assert_array_equal(RuleBasedStrategy().decide(state).battery_p_kw, [0.0, 0.0])


def test_decide_window_wrapping_midnight():
    strategy = RuleBasedStrategy(evening_start=dt.time(22), evening_end=dt.time(2))
    night = strategy.decide(_state(1, 0, load=[10.0]))
    np.testing.assert_allclose(night.battery_p_kw, [-5.0, -5.0])
    morning = strategy.decide(_state(2, 0, load=[10.0]))
    np.testing.assert_array_equal(morning.battery_p_kw, [0.0, 0.0])

