"""A HIL run's KPIs count what the devices did: the measured series in the simulators'
places, a battery's losses from its own readings, a station's sessions as events."""

import numpy as np
import pandas as pd
import pytest

from twin.report.hil.realised import realised
from twin.scenario.loading import load_scenario

STEP_H = 1 / 60  # the loopback's 1 min steps


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("scenarios/hil_loopback.yaml")


def frame(n: int, **cols) -> pd.DataFrame:
    index = pd.date_range("2026-06-01T10:00:00-04:00", periods=n, freq="1min")
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in cols.items()}, index=index)


def sim_events(charger: str) -> pd.DataFrame:
    return pd.DataFrame({"t_s": [0.0, 60.0], "ev": ["ev_00", "ev_00"],
                         "kind": ["plug_in", "departure"], "charger": [charger, charger],
                         "source": ["fleet", "fleet"], "session_e_unmet_kwh": [np.nan, 3.0]})


def test_a_run_without_hil_assets_is_unchanged():
    sc = load_scenario("scenarios/martinique_baseline.yaml")
    ts, events = frame(2, **{"battery_00.p_kw": [1, 2]}), sim_events("ev_charger_00")
    out_ts, out_events = realised(sc, ts, events)
    assert out_ts is ts and out_events is events


def test_measured_power_replaces_the_prediction(scenario):
    ts = frame(3, **{"pv_hil.p_kw": [-3, -3, -3], "pv_hil.p_meas_kw": [-2.5, np.nan, -2.0]})
    out, _ = realised(scenario, ts, pd.DataFrame())
    np.testing.assert_array_equal(out["pv_hil.p_kw"], [-2.5, np.nan, -2.0])
    assert (ts["pv_hil.p_kw"] == -3).all()  # the run's own frame is left alone


def test_battery_losses_and_stored_energy_from_its_readings(scenario):
    p = np.array([0.0, 60.0, 60.0, -30.0, -30.0])  # kW over 1 min steps
    e = np.array([50.0, 50.96, np.nan, 51.42, 50.90])  # kWh, one reading missing
    ts = frame(5, **{"bat_hil.p_kw": [9] * 5, "bat_hil.p_meas_kw": p,
                     "bat_hil.e_meas_kwh": e,
                     "bat_hil.soc_meas_percent": e / 100 * 100,
                     "bat_hil.e_loss_kwh": [0.1] * 5})
    out, _ = realised(scenario, ts, pd.DataFrame())
    assert out["bat_hil.e_kwh"].tolist() == [50.0, 50.96, 50.96, 51.42, 50.90]  # carried
    assert (out["bat_hil.e_start_kwh"] == 50.0).all()
    loss = out["bat_hil.e_loss_kwh"].to_numpy()
    assert loss[1] == pytest.approx(1.0 - 0.96)  # 1 kWh in, 0.96 kWh stored
    # what went in less what came out less the losses is what it stored
    charged = np.clip(p, 0, None).sum() * STEP_H
    discharged = np.clip(-p, 0, None).sum() * STEP_H
    assert charged - discharged - loss.sum() == pytest.approx(50.90 - 50.0)


def test_station_sessions_become_events(scenario):
    soc = [np.nan, np.nan, 40.0, 50.0, 60.0, 78.0, np.nan, 45.0, 46.0]
    meter = [0, 0, 0.0, 7.5, 15.0, 28.5, 28.5, 0.0, 0.75]
    ts = frame(9, **{"evc_hil_1.p_kw": [0] * 9, "evc_hil_1.p_meas_kw": [0, 0, 22, 22, 22, 22,
                                                                       0, 22, 22],
                     "evc_hil_1.soc_meas_percent": soc, "evc_hil_1.e_meas_kwh": meter})
    events = pd.concat([sim_events("evc_hil_1"), sim_events("ev_charger_x")], ignore_index=True)
    out, ev = realised(scenario, ts, events)
    assert out["evc_hil_1.plugged"].tolist() == [0, 0, 1, 1, 1, 1, 0, 1, 1]
    assert out["evc_hil_1.ev_e_kwh"].iloc[2] == pytest.approx(0.40 * 75)  # 75 kWh EV
    hil = ev[ev["source"] == "hil"]
    assert hil["kind"].tolist() == ["plug_in", "departure", "plug_in"]  # 2nd still on
    assert hil["t_s"].tolist() == [120.0, 360.0, 420.0]
    dep = hil[hil["kind"] == "departure"].iloc[0]
    assert dep["ev"] == "ev_00" and dep["charger"] == "evc_hil_1"
    assert dep["session_e_delivered_kwh"] == pytest.approx(28.5)  # from the meter
    assert dep["session_e_unmet_kwh"] == pytest.approx((0.80 - 0.78) * 75)  # target 80 %
    assert dep["time"] == pd.Timestamp("2026-06-01T10:06:00-04:00")
    # the simulated EV's events at the station are gone, others stay
    sim = ev[ev["source"] == "fleet"]
    assert set(sim["charger"]) == {"ev_charger_x"} and len(sim) == 2


def test_the_paired_ev_has_the_soc_its_station_reports(scenario):
    # the simulated EV never charged (40 % throughout); the station reports 40 -> 80 %
    soc = [np.nan, 40.0, 60.0, 80.0, np.nan, np.nan]
    ts = frame(6, **{"evc_hil_1.p_kw": [0] * 6, "evc_hil_1.p_meas_kw": [0, 22, 22, 22, 0, 0],
                     "evc_hil_1.soc_meas_percent": soc,
                     "evc_hil_1.e_meas_kwh": [0, 0, 15, 30, 30, 30],
                     "ev_00.soc_percent": [40.0] * 6, "ev_00.on_site": [1.0] * 6})
    out, _ = realised(scenario, ts, pd.DataFrame())
    # before the first report the scenario's initial SoC, after departure the last one
    assert out["ev_00.soc_percent"].tolist() == [40.0, 40.0, 60.0, 80.0, 80.0, 80.0]
    assert out["ev_00.on_site"].tolist() == [0, 1, 1, 1, 0, 0]
    assert (ts["ev_00.soc_percent"] == 40.0).all()
