import numpy as np
import pandas as pd
import pytest

from simulators.load.model import (
    LOCAL_TZ,
    LoadParams,
    daily_template,
    load_profile_kw,
    load_profiles_kw,
    reactive_power_kvar,
)

DAY = pd.date_range("2025-03-03", periods=96, freq="15min", tz=LOCAL_TZ)  # a Monday
YEAR = pd.date_range("2025-01-01", periods=35040, freq="15min", tz=LOCAL_TZ)


def test_daily_template_weekly_mean_is_one():
    hours = np.arange(0.0, 24.0, 1.0 / 60.0)
    week = (5 * daily_template(hours, False).mean() + 2 * daily_template(hours, True).mean()) / 7
    assert week == pytest.approx(1.0, abs=1e-12)


def test_daily_template_residential_peaks():
    shape = daily_template([3.0, 7.0, 20.0], False)
    np.testing.assert_allclose(shape, [0.5194, 1.5438, 2.3982], atol=1e-3)
    weekend = daily_template([7.0, 9.0], True)
    assert weekend[1] > weekend[0]  # later morning peak on weekends


def test_daily_template_commercial_office_hours():
    shape = daily_template([3.0, 12.5], [False, False], profile="commercial")
    np.testing.assert_allclose(shape, [0.4429, 2.4497], atol=1e-3)
    assert daily_template(12.5, True, profile="commercial") < 0.3 * shape[1]  # closed


def test_load_profile_kw_same_seed_identical():
    a = load_profile_kw(DAY, LoadParams(), np.random.default_rng(3))
    b = load_profile_kw(DAY, LoadParams(), np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_load_profile_kw_different_seeds_differ():
    a = load_profile_kw(DAY, LoadParams(), np.random.default_rng(3))
    b = load_profile_kw(DAY, LoadParams(), np.random.default_rng(4))
    assert not np.allclose(a, b)


def test_load_profile_kw_non_negative_with_heavy_noise():
    p_kw = load_profile_kw(YEAR[:2880], LoadParams(noise_percent=80.0), np.random.default_rng(0))
    assert p_kw.shape == (2880,)
    assert np.all(p_kw >= 0.0)


def test_load_profile_kw_single_household_year_mean():
    p_kw = load_profile_kw(YEAR, LoadParams(annual_kwh=3500.0), np.random.default_rng(11))
    assert p_kw.mean() == pytest.approx(3500.0 / 8760.0, rel=0.03)


def test_load_profiles_kw_year_mean_of_20_households():
    p_kw = load_profiles_kw(YEAR, [LoadParams()] * 20, np.random.default_rng(0))
    assert p_kw.shape == (35040, 20)
    assert p_kw.mean() == pytest.approx(2800.0 / 8760.0, rel=0.03)


def test_load_profiles_kw_commercial_year_mean():
    p_kw = load_profiles_kw(YEAR, [LoadParams(annual_kwh=20000.0, profile="commercial")] * 3,
                            np.random.default_rng(5))
    assert p_kw.mean() == pytest.approx(20000.0 / 8760.0, rel=0.03)


def test_load_profiles_kw_evening_peak_above_night():
    times = pd.date_range("2025-03-01", periods=14 * 96, freq="15min", tz=LOCAL_TZ)
    p_kw = load_profiles_kw(times, [LoadParams()] * 50, np.random.default_rng(2)).sum(axis=1)
    by_hour = pd.Series(p_kw, index=times).groupby(times.hour).mean()
    assert by_hour[20] > 2.5 * by_hour[3]
    assert by_hour[7] > by_hour[3]


def test_load_profiles_kw_household_stream_independent_of_count():
    few = load_profiles_kw(DAY, [LoadParams()] * 2, np.random.default_rng(9))
    many = load_profiles_kw(DAY, [LoadParams()] * 5, np.random.default_rng(9))
    np.testing.assert_array_equal(few, many[:, :2])
    assert not np.allclose(many[:, 0], many[:, 1])


def test_load_profile_kw_uses_local_hour_for_utc_index():
    local = load_profile_kw(DAY, LoadParams(), np.random.default_rng(1))
    utc = load_profile_kw(DAY.tz_convert("UTC"), LoadParams(), np.random.default_rng(1))
    np.testing.assert_array_equal(local, utc)


def test_load_profile_kw_rejects_naive_times():
    with pytest.raises(ValueError, match="timezone-aware"):
        load_profile_kw(DAY.tz_localize(None), LoadParams(), np.random.default_rng(0))


def test_load_params_unknown_profile_raises():
    with pytest.raises(ValueError, match="residential.*commercial"):
        LoadParams(profile="industrial")


def test_reactive_power_kvar_from_pf():
    q = reactive_power_kvar(np.array([1.0, 2.0, 0.0]), 0.95)
    np.testing.assert_allclose(q, [0.32868410, 0.65736820, 0.0], atol=1e-8)
    assert reactive_power_kvar(3.0, 1.0) == 0.0
    np.testing.assert_allclose(reactive_power_kvar(0.8, 0.8), 0.6, atol=1e-12)
    with pytest.raises(ValueError, match="power_factor"):
        reactive_power_kvar(1.0, 0.0)
