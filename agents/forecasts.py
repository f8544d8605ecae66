"""Forecasts for the scheduling strategy.

Sign convention: positive = consumption / import.

``oracle_forecast`` knows the future exactly: the same PV availability and household
profiles the simulators will deliver, and the tariff. It is the upper bound a real
forecast (with errors growing with the horizon) will be measured against. Beyond the
end of the run it repeats the run's last day (day-ahead persistence), so that plans
near the end still see tomorrow morning's EV departures.
"""

from __future__ import annotations

import numpy as np

from agents.scheduling.strategy import Forecast
from twin import inputs
from twin.scenario import Scenario


def oracle_forecast(scenario: Scenario) -> Forecast:
    """Inflexible site power (households + PV), import and feed-in prices from step k."""
    net = inputs.household_load_kw(scenario).sum(axis=1) + inputs.pv_available_kw(
        scenario).sum(axis=1)
    price = inputs.import_price_eur_per_kwh(inputs.step_starts(scenario), scenario.tariff)
    feed_in = np.full(len(price), scenario.tariff.feed_in_price_eur_per_kwh)

    total = len(net)
    day = int(round(86400 / scenario.step_s))

    def forecast(k: int, n: int):
        idx = np.arange(k, k + n)
        if total >= day:  # past the end: the same step of the run's last day
            idx = np.where(idx < total, idx, total - day + (idx - total) % day)
        else:
            idx = idx[idx < total]
        return net[idx], price[idx], feed_in[idx]

    return forecast
