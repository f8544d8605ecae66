"""Exogenous inputs of a run, computed once per scenario: weather, PV availability,
household load, tariff (on the scenario's time axis, ``twin.scenario.timeline``).

Values on step ``k`` stand for the interval ``[start + k*step, start + (k+1)*step)``
and are evaluated at its midpoint. ``step_starts`` and ``step_midpoints`` are re-exported.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd

from simulators.load.model import LoadParams, load_profiles_kw
from simulators.pv.model import PvParams, pv_ac_power_kw_many, solar_position
from simulators.weather.model import synthetic_weather
from twin.rng import stream
from twin.scenario.assets import params_from, resolve_assets
from twin.scenario.schema import Scenario, Tariff
from twin.scenario.timeline import read_csv_weather, step_midpoints, step_starts


@functools.lru_cache(maxsize=4)
def _weather_cached(scenario_json: str) -> pd.DataFrame:
    scenario = Scenario.model_validate_json(scenario_json)
    times = step_midpoints(scenario)
    site, w = scenario.site, scenario.weather
    if w.source == "csv":
        return read_csv_weather(scenario)
    return synthetic_weather(
        times, site.latitude, site.longitude, site.altitude_m, stream(scenario.seed, "weather"),
        mean_kc=w.mean_kc, variability=w.variability, persistence_s=w.persistence_s,
        temp_mean_c=w.temp_mean_c, temp_amplitude_c=w.temp_amplitude_c,
        wind_mean_m_per_s=w.wind_mean_m_per_s,
    )


def _key(scenario: Scenario) -> str:
    return json.dumps(scenario.model_dump(mode="json"), sort_keys=True)


def weather(scenario: Scenario) -> pd.DataFrame:
    """Weather on the step midpoints (computed once per scenario in a process)."""
    return _weather_cached(_key(scenario))


def _asset_params(sc: Scenario, kind: str, cls) -> list:
    """Model parameters of every asset of a kind, in resolve order."""
    return [params_from(cls, a.spec) for a in resolve_assets(sc)[kind]]


@functools.lru_cache(maxsize=4)
def _pv_cached(scenario_json: str) -> np.ndarray:
    sc = Scenario.model_validate_json(scenario_json)
    params = _asset_params(sc, "pv", PvParams)
    solpos = solar_position(step_midpoints(sc), sc.site.latitude, sc.site.longitude,
                            sc.site.altitude_m)
    return pv_ac_power_kw_many(weather(sc), solpos, params)


def pv_available_kw(scenario: Scenario) -> np.ndarray:
    """Available AC power of every PV system, (steps, systems) in resolve order, <= 0. [kW]"""
    return _pv_cached(_key(scenario))


@functools.lru_cache(maxsize=4)
def _load_cached(scenario_json: str) -> np.ndarray:
    sc = Scenario.model_validate_json(scenario_json)
    params = _asset_params(sc, "load", LoadParams)
    return load_profiles_kw(step_starts(sc), params, stream(sc.seed, "load"))


def household_load_kw(scenario: Scenario) -> np.ndarray:
    """Active power of every household, (steps, households) in resolve order. [kW]"""
    return _load_cached(_key(scenario))


def import_price_eur_per_kwh(times: pd.DatetimeIndex, tariff: Tariff) -> np.ndarray:
    """Time-of-use import price at each (local) time. [EUR/kWh]"""
    minutes = np.asarray(times.hour * 60 + times.minute)
    price = np.full(len(times), np.nan)
    for p in tariff.import_tou:
        a = p.start.hour * 60 + p.start.minute
        b = p.end.hour * 60 + p.end.minute or 1440
        inside = (minutes >= a) & (minutes < b) if a < b else (minutes >= a) | (minutes < b)
        price[inside] = p.price_eur_per_kwh
    return price


def prices_ct_per_kwh(scenario: Scenario) -> tuple[np.ndarray, float]:
    """Import tariff of every step and the feed-in price, for the market. [ct/kWh]"""
    tariff = import_price_eur_per_kwh(step_starts(scenario), scenario.tariff) * 100.0
    return tariff, scenario.tariff.feed_in_price_eur_per_kwh * 100.0


def inputs_frame(scenario: Scenario) -> pd.DataFrame:
    """Weather (at step midpoints) and import price of every step, indexed by step start."""
    frame = weather(scenario).copy()
    frame.index = step_starts(scenario)
    frame.index.name = "time"
    frame["import_price_eur_per_kwh"] = import_price_eur_per_kwh(frame.index, scenario.tariff)
    return frame
