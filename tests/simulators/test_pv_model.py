"""Tests for simulators.pv.model (pure PV functions; production is negative p_kw)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from simulators.pv.model import (
    PvParams,
    curtail,
    pv_ac_power_kw,
    pv_ac_power_kw_many,
    solar_position,
)
from simulators.weather.model import synthetic_weather

LAT, LON, ALT_M = 14.6, -61.07, 0.0  # Fort-de-France
TZ = "America/Martinique"


def _clear(times, seed=0):
    """Clear-sky weather (kc = 1) and solar position for Fort-de-France."""
    rng = np.random.default_rng(seed)
    w = synthetic_weather(times, LAT, LON, ALT_M, rng, mean_kc=1.0, variability=0.0)
    return w, solar_position(times, LAT, LON, ALT_M)


@pytest.fixture(scope="module")
def june_day():
    return _clear(pd.date_range("2024-06-21", periods=96, freq="15min", tz=TZ))


def test_solar_position_columns():
    t = pd.date_range("2024-06-21", periods=4, freq="1h", tz=TZ)
    sp = solar_position(t, LAT, LON, ALT_M)
    assert {"apparent_zenith", "zenith", "azimuth", "dni_extra_w_per_m2"} <= set(sp.columns)
    assert sp.index.equals(t)


def test_pv_ac_power_kw_negative_or_zero(june_day):
    p = pv_ac_power_kw(*june_day, PvParams())
    assert p.shape == (96,)
    assert np.all(p <= 0.0)
    assert p.min() < -3.0


def test_pv_ac_power_kw_zero_at_night(june_day):
    w, sp = june_day
    p = pv_ac_power_kw(w, sp, PvParams())
    night = sp["zenith"].to_numpy() > 90.0
    assert np.all(p[night] == 0.0)
    assert not np.any(np.signbit(p[night]))  # no -0.0 either


def test_pv_ac_power_kw_noon_clear_sky_value(june_day):
    w, sp = june_day
    w = w.assign(temp_air_c=30.0, wind_speed_m_per_s=5.0)
    p_noon = pv_ac_power_kw(w, sp, PvParams())[48]  # 12:00 local, GHI 974 W/m2
    # POA 910 W/m2, T_cell 50.5 °C: 5 kW * 0.91 * 0.906 * 0.86 * eta_inv 0.961
    assert p_noon == pytest.approx(-3.406, abs=0.005)


def test_pv_ac_power_kw_clipping_oversized_array(june_day):
    params = PvParams(p_dc_kwp=6.0, p_ac_kw=4.0)
    p = pv_ac_power_kw(*june_day, params)
    assert p.min() >= -4.0 - 1e-9
    assert np.sum(np.isclose(p, -4.0)) >= 4  # clipped around noon


def test_pv_ac_power_kw_never_exceeds_rating_with_enhancement():
    t = pd.date_range("2024-03-01", periods=7 * 96, freq="15min", tz=TZ)
    w = synthetic_weather(t, LAT, LON, ALT_M, np.random.default_rng(3), mean_kc=0.85)
    sp = solar_position(t, LAT, LON, ALT_M)
    p = pv_ac_power_kw(w, sp, PvParams())
    assert np.all(p >= -4.6 - 1e-9) and np.all(p <= 0.0)


def test_pv_ac_power_kw_hotter_less_power(june_day):
    w, sp = june_day
    hot = w.assign(temp_air_c=w["temp_air_c"] + 10.0)
    p_ref = pv_ac_power_kw(w, sp, PvParams())
    p_hot = pv_ac_power_kw(hot, sp, PvParams())
    day = p_ref < -0.1
    assert np.all(p_hot[day] > p_ref[day])  # less negative = less production
    # gamma -0.37 %/°C on 10 °C: about 3.7 % less energy
    assert p_hot.sum() / p_ref.sum() == pytest.approx(1 - 0.037, abs=0.01)


def test_pv_ac_power_kw_east_more_in_morning(june_day):
    w, sp = june_day
    east = pv_ac_power_kw(w, sp, PvParams(tilt_deg=30.0, azimuth_deg=90.0))
    west = pv_ac_power_kw(w, sp, PvParams(tilt_deg=30.0, azimuth_deg=270.0))
    morning = slice(28, 40)  # 07:00 .. 09:45
    assert east[morning].sum() < west[morning].sum()


def test_pv_ac_power_kw_annual_clear_sky_yield():
    """Clear sky only (kc = 1), hourly: asserted 1750..2100 kWh/kWp per year."""
    t = pd.date_range("2023-01-01", periods=8760, freq="1h", tz=TZ)
    p = pv_ac_power_kw(*_clear(t), PvParams())
    yield_kwh_per_kwp = -p.sum() * 1.0 / 5.0
    assert 1750.0 <= yield_kwh_per_kwp <= 2100.0


def test_pv_ac_power_kw_many_matches_single(june_day):
    w, sp = june_day
    base = PvParams()
    params = [
        base,
        dataclasses.replace(base, p_dc_kwp=3.0, p_ac_kw=3.0),
        dataclasses.replace(base, azimuth_deg=90.0, tilt_deg=25.0),
        dataclasses.replace(base, temp_model="insulated_back_glass_polymer"),
    ]
    many = pv_ac_power_kw_many(w, sp, params)
    assert many.shape == (96, 4)
    for j, p in enumerate(params):
        np.testing.assert_allclose(many[:, j], pv_ac_power_kw(w, sp, p))


def test_curtail_limits_production():
    p = curtail(np.array([-4.0, -2.0, 0.0]), 3.0)
    np.testing.assert_allclose(p, [-3.0, -2.0, 0.0])


def test_curtail_array_limit_and_zero():
    p = curtail(np.array([-4.0, -4.0, -1.0]), np.array([0.0, 1.5, 5.0]))
    np.testing.assert_allclose(p, [0.0, -1.5, -1.0])
    assert np.all(p <= 0.0)
