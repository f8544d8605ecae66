"""A scenario's time axis: the start of every step and its midpoint, in the site's zone.

Values on step ``k`` stand for the interval ``[start + k*step, start + (k+1)*step)`` and
are evaluated at its midpoint.
"""

from __future__ import annotations

import pandas as pd

from twin.scenario.schema import Scenario


def step_starts(scenario: Scenario) -> pd.DatetimeIndex:
    """Start of every step, in the site's time zone."""
    start = pd.Timestamp(scenario.start).tz_convert(scenario.site.timezone)
    return pd.date_range(start, periods=scenario.n_steps, freq=pd.Timedelta(seconds=scenario.step_s))


def step_midpoints(scenario: Scenario) -> pd.DatetimeIndex:
    """Midpoint of every step, where the exogenous inputs are evaluated."""
    return step_starts(scenario) + pd.Timedelta(seconds=scenario.step_s / 2)


def read_csv_weather(scenario: Scenario) -> pd.DataFrame:
    """The measured weather file a scenario names, on its step midpoints (``weather.source:
    csv``); raises what the reader raises on a bad file."""
    # CLI start-up: the reader brings pvlib and scipy (~0.5 s), only for a CSV weather file
    from simulators.weather.model import read_weather_csv

    site, w = scenario.site, scenario.weather
    return read_weather_csv(w.path, step_midpoints(scenario), site.latitude, site.longitude,
                            site.altitude_m, naive_tz=w.timezone)
