"""Forecasts for the scheduling strategy (agents.control.forecasts)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.control.forecasts import clear_sky_pv_kw, oracle_forecast, persistence_forecast
from twin import inputs
from twin.scenario.loading import load_scenario


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("scenarios/martinique_baseline.yaml", ["duration=P4D"])


def test_oracle_forecast_is_the_simulated_future(scenario):
    net = (inputs.household_load_kw(scenario).sum(axis=1)
           + inputs.pv_available_kw(scenario).sum(axis=1))
    fc, price, feed_in = oracle_forecast(scenario)(100, 96)
    np.testing.assert_array_equal(fc, net[100:196])
    assert price.max() == pytest.approx(0.2462) and feed_in[0] == pytest.approx(0.10)
    tail, _, _ = oracle_forecast(scenario)(380, 8)  # past the end: the last day again
    np.testing.assert_array_equal(tail[4:], net[384 - 96:384 - 92])


def test_clear_sky_pv_bounds_the_cloudy_day(scenario):
    clear = clear_sky_pv_kw(scenario)
    pv = inputs.pv_available_kw(scenario).sum(axis=1)
    assert clear.min() < -30.0  # 10 x 5 kWp at noon
    assert (clear <= 0).all() and (pv[clear == 0] == 0).all()  # no sun, no PV
    assert pv.sum() > clear.sum()  # clouds: less energy than under a clear sky


def test_persistence_forecast_error_grows_with_horizon(scenario):
    actual = (inputs.household_load_kw(scenario).sum(axis=1)
              + inputs.pv_available_kw(scenario).sum(axis=1))
    forecast = persistence_forecast(scenario)
    near, far = [], []
    for k in range(96, 3 * 96, 2):  # issue times on days 2 and 3
        fc, _, _ = forecast(k, 96)
        err = np.abs(fc - actual[k:k + 96])
        near.append(err[:2].mean())
        far.append(err[24:].mean())
    assert np.mean(near) < np.mean(far)


def test_persistence_forecast_households_from_the_day_before(scenario):
    load = inputs.household_load_kw(scenario).sum(axis=1)
    clear = clear_sky_pv_kw(scenario)
    k = 96 + 2  # 00:30 on day 2: no sun, so the forecast is the households alone
    fc, _, _ = persistence_forecast(scenario)(k, 4)
    assert (clear[k:k + 4] == 0).all()
    np.testing.assert_allclose(fc, load[k - 96:k - 92])
