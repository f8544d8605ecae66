"""Forecasts for the scheduling strategy.

Sign convention: positive = consumption / import.

``oracle_forecast`` knows the future exactly: the same PV availability and household
profiles the simulators will deliver, and the tariff. It is the upper bound a real
forecast will be measured against.

``persistence_forecast`` uses only the past and the sky model:

- PV: clear-sky PV (the same pvlib chain under an Ineichen clear sky) times a forecast
  clear-sky index ``kc(h) = w(h) kc_now + (1 - w(h)) kc_mean``, ``w(h) = exp(-h / tau)``
  (smart persistence relaxing to climatology, tau = 3 h), where ``kc_now`` is the
  ratio of PV produced to clear-sky PV over the last hour of daylight; its error grows
  with the horizon h;
- households: seasonal persistence, the same step of the previous day (on the first
  day, where there is no previous day, the profile itself);
- prices: the tariff.

Beyond the end of the run both repeat the run's last day, so that plans near the end
still see tomorrow morning's EV departures.
"""

from __future__ import annotations

import numpy as np

from agents.control.scheduling import Forecast
from twin import inputs
from twin.scenario.schema import Scenario, SyntheticWeather


def _tariff(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Import and feed-in price of every step of the run. [EUR/kWh]"""
    price = inputs.import_price_eur_per_kwh(inputs.step_starts(scenario), scenario.tariff)
    return price, np.full(len(price), scenario.tariff.feed_in_price_eur_per_kwh)


def _wrap(idx: np.ndarray, total: int, day: int) -> np.ndarray:
    """Step indices past the run's end mapped onto its last day."""
    if total >= day:
        return np.where(idx < total, idx, total - day + (idx - total) % day)
    return idx[idx < total]


def persistence_forecast(scenario: Scenario, tau_h: float = 3.0) -> Forecast:
    """Forecast from the past (see the module docstring)."""
    load = inputs.household_load_kw(scenario).sum(axis=1)
    pv = inputs.pv_available_kw(scenario).sum(axis=1)
    clear = clear_sky_pv_kw(scenario)
    price, feed_in = _tariff(scenario)
    total, day = len(load), int(round(86400 / scenario.step_s))
    hour = max(1, int(round(3600 / scenario.step_s)))
    kc_mean = scenario.weather.mean_kc if scenario.weather.source == "synthetic" else 0.75
    step_h = scenario.step_s / 3600.0

    def forecast(k: int, n: int):
        idx = _wrap(np.arange(k, k + n), total, day)
        past = slice(max(0, k - hour), k)
        sun = clear[past].sum()
        kc_now = pv[past].sum() / sun if sun < -1e-6 else kc_mean
        w = np.exp(-(np.arange(len(idx)) + 1) * step_h / tau_h)
        pv_fc = clear[idx] * (w * kc_now + (1.0 - w) * kc_mean)
        load_fc = load[np.where(idx >= day, idx - day, idx)]
        return load_fc + pv_fc, price[idx], feed_in[idx]

    return forecast


def clear_sky_pv_kw(scenario: Scenario) -> np.ndarray:
    """Site PV under a clear sky (kc = 1) on the step midpoints, <= 0. [kW]"""
    clear_sky = SyntheticWeather(mean_kc=1.0, variability=0.0)
    return inputs.pv_available_kw(scenario.model_copy(update={"weather": clear_sky})).sum(axis=1)


def oracle_forecast(scenario: Scenario) -> Forecast:
    """Inflexible site power (households + PV), import and feed-in prices from step k."""
    net = inputs.household_load_kw(scenario).sum(axis=1) + inputs.pv_available_kw(
        scenario).sum(axis=1)
    price, feed_in = _tariff(scenario)

    total, day = len(net), int(round(86400 / scenario.step_s))

    def forecast(k: int, n: int):
        idx = _wrap(np.arange(k, k + n), total, day)
        return net[idx], price[idx], feed_in[idx]

    return forecast
