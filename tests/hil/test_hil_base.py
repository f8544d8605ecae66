"""The shared HIL machinery: fault log, backoff, watchdog, background loop, views."""

import asyncio
import math

import pytest

from hil import views
from hil.base import BackgroundLoop, Backoff, FaultLog, FaultPolicy, Watchdog
from twin.scenario.specs import BatterySpec, EvSpec, LoadSpec


def test_fault_log_rejects_unknown_kind():
    with pytest.raises(ValueError, match="not one of"):
        FaultLog().record("bat", "gremlins")


def test_fault_log_records_sim_time():
    log = FaultLog()
    log.sim_time_s = 120.0
    f = log.record("bat", "timeout", "no answer")
    assert (f.asset_id, f.kind, f.t_s) == ("bat", "timeout", 120.0)
    assert log.kinds("bat") == ["timeout"] and log.kinds("pv") == []


def test_backoff_doubles_to_cap_and_resets():
    b = Backoff(0.5, 2.0, 3.0)
    assert [b.next_delay_s() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    b.reset()
    assert b.next_delay_s() == 0.5
    with pytest.raises(ValueError):
        Backoff(0.0)


def test_watchdog_fresh_hold_fallback_reconnected():
    log = FaultLog()
    w = Watchdog("bat", FaultPolicy(stale_after_s=2.0, hold_s=5.0), log)
    assert w.update(0.5, now_mono=100.0) == "fresh"
    assert w.update(2.5, now_mono=102.0) == "hold"
    assert w.update(6.0, now_mono=106.9) == "hold"  # 4.9 s into the hold
    assert w.update(7.5, now_mono=107.1) == "fallback"
    assert w.update(9.0, now_mono=109.0) == "fallback"
    assert w.update(0.1, now_mono=110.0) == "fresh"
    assert log.kinds() == ["stale", "hold", "fallback", "reconnected"]


def test_watchdog_never_measured_is_stale():
    log = FaultLog()
    w = Watchdog("pv", FaultPolicy(hold_s=0.0), log)
    assert w.update(None, now_mono=1.0) == "hold"
    assert w.update(None, now_mono=1.1) == "fallback"


def test_background_loop_runs_and_stops():
    loop = BackgroundLoop()

    async def add(a, b):
        await asyncio.sleep(0.01)
        return a + b

    assert loop.run(add(2, 3), timeout_s=2) == 5
    loop.submit(asyncio.sleep(3600))  # cancelled by stop()
    loop.stop()
    assert not loop.loop.is_running()


def test_held_setpoint():
    assert views.held_setpoint("fresh", 7.0, 3.0) == 7.0
    assert views.held_setpoint("hold", 7.0, 3.0) == 3.0
    assert views.held_setpoint("fallback", 7.0, 3.0) == 0.0


def test_battery_view_offers_no_flexibility_unless_fresh():
    spec = BatterySpec()
    values = {"p_kw": 10.0, "soc_percent": 40.0}
    fresh = views.battery_view(values, "fresh", spec)
    assert fresh["e_kwh"] == pytest.approx(40.0)  # 40 % of 100 kWh
    assert fresh["p_charge_avail_kw"] == spec.p_charge_max_kw
    hold = views.battery_view(values, "hold", spec)
    assert hold["p_kw"] == 10.0 and hold["p_charge_avail_kw"] == 0.0
    fallback = views.battery_view(values, "fallback", spec)
    assert fallback["p_kw"] == 0.0 and fallback["p_discharge_avail_kw"] == 0.0


def test_charger_view_maps_wall_departure_onto_sim_time():
    ev = EvSpec(capacity_kwh=60, soc_min_percent=10, soc_max_percent=100)
    values = {"plugged": 1.0, "p_kw": 11.0, "soc_percent": 50.0, "p_charge_avail_kw": 22.0,
              "ev_departure_unix_s": 1000.0 + 30.0, "ev_e_request_kwh": 12.0}
    row = views.charger_view(values, "fresh", ev, now_s=600.0, now_unix_s=1000.0,
                             rt_factor=1 / 60)
    assert row["ev_departure_s"] == pytest.approx(600.0 + 30 * 60)  # 30 wall s = 30 min
    assert row["ev_e_kwh"] == pytest.approx(30.0)
    assert row["ev_e_target_kwh"] == pytest.approx(42.0)
    assert row["ev_e_min_kwh"] == pytest.approx(6.0)
    unplugged = views.charger_view({"plugged": 0.0}, "fresh", ev, 0.0, 0.0, 1.0)
    assert unplugged["plugged"] == 0.0 and math.isnan(unplugged["ev_departure_s"])


def test_load_view_reactive_power_from_power_factor():
    row = views.load_view({"p_kw": 3.0}, "fresh", LoadSpec(power_factor=0.8))
    assert row["q_kvar"] == pytest.approx(2.25)


def test_lag():
    assert views.lag_s(10.5, 600, 1 / 60) == pytest.approx(0.5)


def test_site_flexibility_for_the_ven():
    # 60 kW import: a battery charging at 10 kW that could discharge 30 kW, EVs at 22 + 0
    inflexible, flexible = views.site_flexibility(60.0, [10.0], [30.0], [22.0, 0.0])
    assert inflexible == pytest.approx(28.0)  # households and PV
    assert flexible == pytest.approx(62.0)  # stop charging (10) + discharge (30) + EVs (22)
    assert views.site_flexibility(5.0, [], [], []) == (5.0, 0.0)


def test_metered_energy_brought_to_the_reading_time():
    values = {"e_session_kwh": 2.0, "p_kw": 22.0}
    # sampled 0.25 wall s ago at 60x: 15 simulated s at 22 kW since
    assert views.metered_energy_kwh(values, 0.25, 1 / 60) == pytest.approx(2.0 + 22 * 15 / 3600)
    assert math.isnan(views.metered_energy_kwh({}, 0.1, 1.0))
