"""HIL validation metrics on hand-made trajectories."""

import numpy as np
import pandas as pd
import pytest

from twin.report.hil.validation import (
    device_metrics,
    lag_metrics,
    metered_power_kw,
    tracking_delays_s,
)
from twin.scenario.hil import Tolerances

STEP_S = 60.0


def frame(pred, meas, req=None, state=None, soc_pred=None, soc_meas=None, aid="bat"):
    n = len(pred)
    cols = {f"{aid}.p_kw": pred, f"{aid}.p_meas_kw": meas,
            f"{aid}.p_req_kw": pred if req is None else req,
            f"{aid}.link_state": np.zeros(n) if state is None else state}
    if soc_pred is not None:
        cols[f"{aid}.soc_percent"] = soc_pred
        cols[f"{aid}.soc_meas_percent"] = soc_meas
    return pd.DataFrame(cols, index=pd.date_range("2026-06-01", periods=n, freq="min"))


def test_device_that_follows_one_step_later_passes():
    pred = np.array([0, 0, 10, 10, 10, -5, -5, -5, 0, 0], dtype=float)
    meas = np.r_[0.0, pred[:-1]]  # read at the next step's start
    m = device_metrics(frame(pred, meas), "bat", "battery", STEP_S, Tolerances())
    assert m["p_rmse_kw"] == 0.0 and m["p_max_error_kw"] == 0.0
    assert m["tracking_delay_s"] == STEP_S  # reached at the first read
    assert m["setpoint_changes"] == 3 and m["pass"]


def test_offset_device_fails_with_the_reason():
    pred = np.full(20, 10.0)
    meas = np.full(20, 7.0)  # delivers 3 kW less than asked
    m = device_metrics(frame(pred, meas), "bat", "battery", STEP_S,
                       Tolerances(p_rmse_kw=1.0, p_max_error_kw=5.0))
    assert m["p_rmse_kw"] == pytest.approx(3.0) and m["p_bias_kw"] == pytest.approx(-3.0)
    assert not m["pass"] and any("p_rmse_kw" in f for f in m["failed"])


def test_slow_device_tracking_delay():
    pred = np.array([0] * 3 + [20] * 10, dtype=float)
    meas = np.array([0] * 3 + [0, 0, 0] + [20] * 7, dtype=float)  # 3 steps late
    delays, missed = tracking_delays_s(pred, pred, meas, STEP_S, 0.5)
    assert delays == [3 * STEP_S] and missed == 0
    m = device_metrics(frame(pred, meas), "bat", "battery", STEP_S,
                       Tolerances(tracking_delay_s=120, p_max_error_kw=50, p_rmse_kw=50))
    assert m["tracking_delay_s"] == 180 and not m["pass"]


def test_steps_without_a_fresh_link_are_left_out():
    pred = np.full(6, 5.0)
    meas = np.array([5, 5, 0, 0, 5, 5], dtype=float)  # zero while the link was down
    state = np.array([0, 0, 2, 2, 0, 0], dtype=float)
    m = device_metrics(frame(pred, meas, state=state), "bat", "battery", STEP_S, Tolerances())
    assert m["p_max_error_kw"] == 0.0 and m["steps_not_fresh"] == 2


def test_soc_error_and_missing_series():
    pred = np.zeros(5)
    m = device_metrics(frame(pred, pred, soc_pred=np.array([50, 51, 52, 53, 54.0]),
                             soc_meas=np.array([50, 50, 51, 52, 58.0])),
                       "bat", "battery", STEP_S, Tolerances(soc_max_error_percent=3))
    assert m["soc_max_error_percent"] == pytest.approx(5.0) and not m["pass"]
    empty = device_metrics(pd.DataFrame(), "x", "pv", STEP_S, Tolerances())
    assert not empty["pass"]


def test_lag_metrics():
    ts = pd.DataFrame({"clock.lag_s": [0.0, 0.1, 0.5, -0.2]})
    assert lag_metrics(ts)["lag_max_s"] == 0.5
    assert lag_metrics(ts)["lag_mean_s"] == pytest.approx(0.15)
    assert lag_metrics(pd.DataFrame()) == {}


def test_station_compared_by_its_energy_meter():
    # 22 kW asked; the EV fills up 30 s into step 3: the power sample at the next read
    # says 0, the meter says 11 kW on average, which is what the twin predicted
    pred = np.array([22, 22, 22, 11, 0, 0], dtype=float)
    e = np.cumsum(np.r_[0.0, pred[:-1] / 60.0])  # kWh, read at each step's start
    meas_sample = np.array([0, 22, 22, 22, 0, 0], dtype=float)
    df = frame(pred, meas_sample, aid="evc")
    df = df.rename(columns={"evc.p_kw": "evc.p_pred_kw"})
    df["evc.e_meas_kwh"] = e
    m = device_metrics(df, "evc", "ev_charger", STEP_S, Tolerances())
    assert m["p_max_error_kw"] == pytest.approx(0.0, abs=1e-9) and m["pass"]
    df["evc.e_meas_kwh"] = np.nan  # without a meter the sample is all there is
    assert device_metrics(df, "evc", "ev_charger", STEP_S, Tolerances())["p_max_error_kw"] == 11


def test_metered_power_restarts_with_a_new_session():
    p = metered_power_kw(np.array([0.0, 0.2, 0.4, 0.0, 0.1]), 60.0)
    np.testing.assert_allclose(p, [np.nan, 12, 12, np.nan, 6])
