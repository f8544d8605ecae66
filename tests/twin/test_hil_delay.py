"""The sub-step tracking delay and the OpenADR compliance, on synthetic samples whose
answer is known by construction, and a station's reading at a step's start, which
must not depend on where its meter samples fall against that start."""

import numpy as np
import pandas as pd
import pytest

from hil import views
from twin.report.hil.validation import device_metrics, openadr_compliance, sample_delays_s
from twin.scenario.hil import Tolerances

STEP_S = 60.0


def step_response(t_s: np.ndarray, changes: list[tuple[float, float]], delay_s: float
                  ) -> np.ndarray:
    """A device that takes each new setpoint exactly ``delay_s`` after it was sent."""
    p = np.zeros(len(t_s))
    for t0, value in changes:
        p[t_s >= t0 + delay_s] = value
    return p


@pytest.mark.parametrize("delay_s", [0.0, 7.0, 37.0, 95.0])
def test_delay_of_a_device_with_a_known_delay(delay_s):
    interval = 5.0  # a sample every 5 s: the estimate is within one interval above
    t = np.arange(0.0, 1200.0, interval) + 1.3  # samples not on the steps' grid
    changes = [(120.0, 10.0), (480.0, -4.0), (840.0, 0.0)]
    p = step_response(t, changes, delay_s)
    delays, missed = sample_delays_s(np.array([c[0] for c in changes]),
                                     np.array([c[1] for c in changes]), t, p, 0.5, 1200.0)
    assert missed == 0 and len(delays) == 3
    for d in delays:
        assert delay_s <= d < delay_s + interval


def test_a_change_overtaken_before_it_is_reached_counts_as_missed():
    t = np.arange(0.0, 600.0, 10.0)
    changes = np.array([60.0, 120.0]), np.array([10.0, 20.0])
    p = step_response(t, [(60.0, 10.0), (120.0, 20.0)], 90.0)  # slower than the changes
    delays, missed = sample_delays_s(*changes, t, p, 0.5, 600.0)
    assert missed == 1 and delays[0] == 60.0  # until the next change
    assert 90.0 <= delays[1] < 100.0


def test_device_metrics_take_the_delay_from_the_samples():
    n = 20
    req = np.zeros(n)
    req[5:] = 10.0
    pred = req.copy()
    meas = np.r_[0.0, pred[:-1]]
    ts = pd.DataFrame({"bat.p_kw": pred, "bat.p_meas_kw": meas, "bat.p_req_kw": req,
                       "bat.link_state": np.zeros(n), "clock.lag_s": np.full(n, 0.1)},
                      index=pd.date_range("2026-06-01", periods=n, freq="min"))
    rt_factor = 1 / 60  # 0.1 wall s of lag: the setpoint went out 6 simulated s late
    t = np.arange(0.0, n * STEP_S, 15.0)  # four samples a step
    samples = pd.DataFrame({"t_s": t, "p_kw": step_response(t, [(5 * STEP_S + 6.0, 10.0)],
                                                            20.0)})
    m = device_metrics(ts, "bat", "battery", STEP_S, Tolerances(), samples, rt_factor)
    assert m["tracking_delay_from"] == "samples" and m["tracking_delay_resolution_s"] == 15.0
    assert 20.0 <= m["tracking_delay_s"] < 35.0  # not the whole step of the step-based one
    assert device_metrics(ts, "bat", "battery", STEP_S, Tolerances())["tracking_delay_s"] \
        == STEP_S


def test_openadr_compliance_per_event():
    p = np.array([30.0, 30.0, 25.0, 18.0, 22.0, 30.0])  # import per 60 s step
    ts = pd.DataFrame({"grid.p_import_kw": p},
                      index=pd.date_range("2026-06-01", periods=len(p), freq="min"))
    events = [{"event_id": "shed", "signal": "LOAD_DISPATCH", "start_s": 120.0,
               "end_s": 300.0, "site_limit_kw": 20.0, "price_eur_per_kwh": None,
               "level": None, "opted_in": True},
              {"event_id": "tariff", "signal": "ELECTRICITY_PRICE", "start_s": 0.0,
               "end_s": 120.0, "site_limit_kw": None, "price_eur_per_kwh": 0.35,
               "level": None, "opted_in": True}]
    out = {e["event_id"]: e for e in openadr_compliance(ts, events, STEP_S)}
    shed = out["shed"]  # steps 2, 3, 4: 25, 18, 22 kW against 20 kW
    assert shed["steps"] == 3 and shed["import_max_kw"] == 25.0
    assert shed["e_over_limit_kwh"] == pytest.approx((5.0 + 2.0) / 60.0)
    assert shed["steps_over_limit"] == 2
    assert "e_over_limit_kwh" not in out["tariff"] and out["tariff"]["steps"] == 2


@pytest.mark.parametrize("age_s", [0.0, 0.05, 0.12, 0.2, 0.249])
def test_station_reading_does_not_depend_on_the_sample_phase(age_s):
    """An EV at 22 kW that needs 0.1 kWh more at the step's start (it fills up in the
    step): whatever the age of the last meter sample (4 a wall second at 60x), the twin
    reads the same energy and predicts the same mean power for the step."""
    rt, p = 1 / 60, 22.0
    e_start, need = 5.0, 0.1  # at the step's start [kWh]
    sim_age = age_s / rt
    drawn = min(p * sim_age / 3600.0, 1.0)  # since the sample (EV not full then)
    values = {"e_session_kwh": e_start - drawn, "p_kw": p, "ev_e_request_kwh": need + drawn}
    assert views.metered_energy_kwh(values, age_s, rt) == pytest.approx(e_start)
    row = {"plugged": 1.0, "p_set_kw": 22.0, "p_charge_avail_kw": 22.0}
    assert views.charger_prediction_kw(row, values, STEP_S, age_s, rt) == pytest.approx(
        need * 3600.0 / STEP_S)


def test_station_reading_stops_where_the_ev_filled_up():
    # the last sample said 22 kW and 0.05 kWh still wanted; 15 simulated s later the EV
    # is full: the reading adds 0.05 kWh, not 22 kW x 15 s = 0.092 kWh
    values = {"e_session_kwh": 30.0, "p_kw": 22.0, "ev_e_request_kwh": 0.05}
    assert views.metered_energy_kwh(values, 0.25, 1 / 60) == pytest.approx(30.05)
    row = {"plugged": 1.0, "p_set_kw": 22.0, "p_charge_avail_kw": 22.0}
    assert views.charger_prediction_kw(row, values, STEP_S, 0.25, 1 / 60) == 0.0
