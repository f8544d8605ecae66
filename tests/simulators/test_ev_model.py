"""Tests of the discrete-event EV fleet model (simulators.ev.model)."""

import math

import numpy as np
import pandas as pd
import pytest

from simulators.ev.model import ChargerParams, EvFleet, EvParams, draw_trips

START = pd.Timestamp("2024-06-03 00:00", tz="America/Martinique")  # a Monday
DAY_S = 86400.0


def make_fleet(evs, chargers, trips=None, seed=0, horizon_s=2 * DAY_S):
    return EvFleet(evs, chargers, START, np.random.default_rng(seed), horizon_s, trips=trips)


def random_fleet(seed, horizon_s=2 * DAY_S):
    evs = [EvParams(pattern="home")] * 6 + [EvParams(pattern="workplace", v2g=False)] * 4
    chargers = [ChargerParams(location="home")] * 4 + [ChargerParams(location="workplace")] * 3
    return make_fleet(evs, chargers, seed=seed, horizon_s=horizon_s)


def run_random(fleet, horizon_s, seed=99):
    rng = np.random.default_rng(seed)
    for t in np.arange(900.0, horizon_s + 1, 900.0):
        fleet.set_power(rng.uniform(-30.0, 30.0, len(fleet.chargers)))
        fleet.advance(t)


def test_evfleet_same_seed_identical_sessions():
    a, b, c = random_fleet(7), random_fleet(7), random_fleet(8)
    for f in (a, b, c):
        run_random(f, 2 * DAY_S)
    sa, sb, sc = a.sessions(), b.sessions(), c.sessions()
    assert len(sa) > 10
    assert pd.DataFrame(sa).equals(pd.DataFrame(sb))
    assert [s["arrival_s"] for s in sa] != [s["arrival_s"] for s in sc]


def test_evfleet_trips_independent_of_setpoints():
    a, b = random_fleet(3), random_fleet(3)
    run_random(a, DAY_S, seed=1)
    run_random(b, DAY_S, seed=2)
    key = ["ev", "arrival_s", "departure_s", "e_trip_kwh"]
    assert pd.DataFrame(a.sessions())[key].equals(pd.DataFrame(b.sessions())[key])


def test_evfleet_mid_step_arrival_p_mean():
    f = make_fleet([EvParams()], [ChargerParams()], trips=[(0, 300.0, 7200.0, 0.0)])
    f.set_power(np.array([22.0]))
    assert not f.plugged()[0]
    assert f.next_event_s() == 300.0
    f.advance(900.0)
    assert f.plugged()[0]
    assert f.p_mean_kw()[0] == pytest.approx(22.0 * 600.0 / 900.0, abs=1e-12)
    assert f.e_delivered_kwh()[0] == pytest.approx(22.0 * 600.0 / 3600.0, abs=1e-12)
    assert f.ev_e_kwh()[0] == pytest.approx(45.0 + 0.95 * 22.0 * 600.0 / 3600.0, abs=1e-12)
    assert [(e["kind"], e["t_s"]) for e in f.pop_events()] == [("arrival", 300.0), ("plug_in", 300.0)]
    assert f.pop_events() == []


def test_evfleet_event_at_step_end_included():
    f = make_fleet([EvParams()], [ChargerParams()], trips=[(0, 900.0, 7200.0, 0.0)])
    f.advance(900.0)
    assert f.plugged()[0] and f.p_mean_kw()[0] == 0.0
    assert f.ev_departure_s()[0] == 7200.0


def test_evfleet_queue_plug_in_when_charger_frees():
    evs = [EvParams(), EvParams()]
    trips = [(0, 0.0, 3600.0, 0.0), (1, 600.0, 7200.0, 0.0)]
    f = make_fleet(evs, [ChargerParams()], trips=trips)
    f.advance(1800.0)
    assert f.ev_state() == ["plugged", "waiting"]
    assert list(f.ev_charger()) == [0, -1]
    f.advance(3600.0)
    assert f.ev_state() == ["away", "plugged"]
    assert list(f.ev_charger()) == [-1, 0]
    s = f.sessions()[1]
    assert s["plug_in_s"] == 3600.0 and s["waited_s"] == 3000.0
    kinds = [(e["ev"], e["kind"], e["charger"]) for e in f.pop_events()]
    assert kinds[-2:] == [(0, "departure", 0), (1, "plug_in", 0)]


def test_evfleet_queued_ev_never_plugged_recorded():
    trips = [(0, 0.0, 7200.0, 0.0), (1, 600.0, 3000.0, 5.0)]
    f = make_fleet([EvParams(), EvParams()], [ChargerParams()], trips=trips)
    f.advance(8000.0)
    s = f.sessions()[1]
    assert s["charger"] == -1 and math.isnan(s["plug_in_s"])
    assert s["waited_s"] == 2400.0 and s["e_delivered_kwh"] == 0.0 and s["completed"]
    assert s["e_departure_kwh"] == pytest.approx(45.0 - 5.0)
    assert f.ev_state() == ["away", "away"]


def test_evfleet_no_charger_for_location_waits():
    f = make_fleet([EvParams(pattern="workplace")], [ChargerParams(location="home")],
                   trips=[(0, 0.0, 3600.0, 0.0)])
    f.advance(1000.0)
    assert f.ev_state() == ["waiting"] and not f.plugged()[0]


def test_evfleet_departure_unmet_energy():
    ev = EvParams(soc_initial_percent=20.0)
    f = make_fleet([ev], [ChargerParams()], trips=[(0, 0.0, 3600.0, 0.0)])
    f.advance(3600.0)
    s = f.sessions()[0]
    assert s["e_departure_kwh"] == pytest.approx(15.0 + 0.95 * 22.0, abs=1e-12)
    assert s["e_unmet_kwh"] == pytest.approx(67.5 - 15.0 - 20.9, abs=1e-12)
    assert s["e_target_kwh"] == 67.5


def test_evfleet_trip_shortfall_clipped_at_soc_min():
    ev = EvParams(soc_initial_percent=20.0)
    f = make_fleet([ev], [ChargerParams()], trips=[(0, 100.0, 3600.0, 12.0)])
    s = f.sessions()[0] if f.sessions() else None
    assert s is None
    f.advance(100.0)
    s = f.sessions()[0]
    assert s["e_arrival_kwh"] == 7.5
    assert s["e_trip_shortfall_kwh"] == pytest.approx(12.0 - 7.5)


def test_evfleet_soc_max_hit_exactly():
    ev = EvParams(soc_initial_percent=95.0)
    f = make_fleet([ev], [ChargerParams()], trips=[(0, 0.0, 7200.0, 0.0)])
    f.set_power(np.array([22.0]))
    t_full = 3.75 / (22.0 * 0.95) * 3600.0
    assert f.next_event_s() == pytest.approx(t_full, abs=1e-9)
    f.advance(900.0)
    assert abs(f.ev_e_kwh()[0] - 75.0) < 1e-9
    assert f.e_delivered_kwh()[0] == pytest.approx(3.75 / 0.95, abs=1e-12)
    assert f.p_mean_kw()[0] == pytest.approx(3.75 / 0.95 * 4.0, abs=1e-9)
    assert f.p_max_now_kw()[0] == 0.0 and f.p_kw()[0] == 0.0
    assert f.next_event_s() == 7200.0
    f.advance(1800.0)
    assert f.p_mean_kw()[0] == 0.0 and abs(f.ev_e_kwh()[0] - 75.0) < 1e-9


def test_evfleet_soc_min_hit_exactly_discharging():
    ev = EvParams(soc_initial_percent=12.0)
    f = make_fleet([ev], [ChargerParams()], trips=[(0, 0.0, 7200.0, 0.0)])
    f.set_power(np.array([-50.0]))
    f.advance(900.0)
    assert abs(f.ev_e_kwh()[0] - 7.5) < 1e-9
    assert f.e_delivered_kwh()[0] == pytest.approx(-1.5 * 0.95, abs=1e-12)
    assert f.p_min_now_kw()[0] == 0.0 and f.p_max_now_kw()[0] == 22.0


@pytest.mark.parametrize(("ev_v2g", "ch_v2g"), [(True, True), (True, False), (False, True), (False, False)])
def test_evfleet_v2g_only_when_both_allow(ev_v2g, ch_v2g):
    f = make_fleet([EvParams(v2g=ev_v2g)], [ChargerParams(v2g=ch_v2g)],
                   trips=[(0, 0.0, 7200.0, 0.0)])
    f.set_power(np.array([-11.0]))
    f.advance(900.0)
    both = ev_v2g and ch_v2g
    assert f.p_mean_kw()[0] == pytest.approx(-11.0 if both else 0.0)
    assert f.p_min_now_kw()[0] == (-22.0 if both else 0.0)


def test_evfleet_power_clipped_to_smaller_rating():
    f = make_fleet([EvParams(p_max_kw=7.4)], [ChargerParams(p_max_kw=22.0)],
                   trips=[(0, 0.0, 7200.0, 0.0)])
    f.set_power(np.array([100.0]))
    f.advance(900.0)
    assert f.p_mean_kw()[0] == pytest.approx(7.4)


def test_evfleet_energy_invariant_and_soc_window():
    f = random_fleet(11, horizon_s=3 * DAY_S)
    rng = np.random.default_rng(5)
    for t in np.arange(900.0, 3 * DAY_S + 1, 900.0):
        f.set_power(rng.uniform(-30.0, 30.0, len(f.chargers)))
        f.advance(t)
        soc = f.ev_soc_percent()
        assert np.all(soc >= 10.0 - 1e-9) and np.all(soc <= 100.0 + 1e-9)
    df = pd.DataFrame(f.sessions())
    e0 = np.array([ev.capacity_kwh * ev.soc_initial_percent / 100.0 for ev in f.evs])
    for i, ev in enumerate(f.evs):
        s = df[df.ev == i]
        stored = ev.eta_charge * s.e_charged_kwh.sum() - s.e_discharged_kwh.sum() / ev.eta_discharge
        trip = (s.e_trip_kwh - s.e_trip_shortfall_kwh).sum()
        assert abs(f.ev_e_kwh()[i] - (e0[i] + stored - trip)) < 1e-9
    assert df.e_discharged_kwh.sum() > 0.0
    total = df.groupby("charger").e_delivered_kwh.sum()
    for j in range(len(f.chargers)):
        assert total.get(j, 0.0) == pytest.approx(f.e_delivered_kwh()[j], abs=1e-9)


def test_evfleet_starts_on_site_at_night():
    f = random_fleet(4)
    state = f.ev_state()
    assert all(s != "away" for s in state[:6])
    assert state[:4] == ["plugged"] * 4 and state[4:6] == ["waiting"] * 2
    assert all(s == "away" for s in state[6:])


def test_draw_trips_arrival_hours_plausible():
    evs = [EvParams(pattern="home")] * 20 + [EvParams(pattern="workplace")] * 20
    trips = draw_trips(evs, START, 30 * DAY_S, np.random.default_rng(2))
    df = pd.DataFrame(trips)
    df = df[df.arrival_s > 0]
    local = START + pd.to_timedelta(df.arrival_s, unit="s")
    df["hour"] = local.dt.hour + local.dt.minute / 60.0
    df["weekend"] = local.dt.dayofweek >= 5
    home, work = df[df.ev < 20], df[df.ev >= 20]
    assert home.hour.mean() == pytest.approx(18.0, abs=0.3)
    assert work.hour.mean() == pytest.approx(8.0, abs=0.3)
    assert 1.2 < home.hour.std() < 1.8 and 0.8 < work.hour.std() < 1.2
    assert home.weekend.mean() == pytest.approx(8 / 30, abs=0.03)
    assert work.weekend.mean() < 0.1
    assert (df.departure_s > df.arrival_s).all()
    assert df.trip_kwh.mean() == pytest.approx(35.0 * 0.17, rel=0.1)


def test_evfleet_overlapping_trips_rejected():
    with pytest.raises(ValueError, match="overlap"):
        make_fleet([EvParams()], [ChargerParams()], trips=[(0, 0.0, 100.0, 0.0), (0, 50.0, 200.0, 0.0)])


def test_evfleet_bad_pattern_rejected():
    with pytest.raises(ValueError, match="pattern"):
        make_fleet([EvParams(pattern="beach")], [ChargerParams()])


def test_evfleet_p_window_kw_near_full_and_empty():
    evs = [EvParams(soc_initial_percent=98.0), EvParams(soc_initial_percent=11.0)]
    chargers = [ChargerParams(), ChargerParams()]
    f = make_fleet(evs, chargers + [ChargerParams()],
                   trips=[(0, 0.0, 7200.0, 0.0), (1, 0.0, 7200.0, 0.0)])
    lo, hi = f.p_window_kw(900.0)
    # 1.5 kWh to soc_max in 15 min at 95 %: 6.3158 kW; 0.75 kWh above soc_min: 2.85 kW
    np.testing.assert_allclose(hi, [1.5 / 0.95 * 4, 22.0, 0.0])
    np.testing.assert_allclose(lo, [-22.0, -0.75 * 0.95 * 4, 0.0])
    f.set_power(hi)  # holding the window for a step lands exactly on the bound
    f.advance(900.0)
    assert f.ev_soc_percent()[0] == pytest.approx(100.0, abs=1e-9)
