"""Tests for simulators.weather.model (pure weather functions)."""

import numpy as np
import pandas as pd
import pytest
from pvlib.location import Location

from simulators.weather.model import (
    WEATHER_COLUMNS,
    clear_sky_index,
    read_weather_csv,
    synthetic_weather,
)

# Fort-de-France, Martinique
LAT, LON, ALT_M = 14.6, -61.07, 0.0
TZ = "America/Martinique"


def _times(start="2024-06-21", periods=96, freq="15min"):
    return pd.date_range(start, periods=periods, freq=freq, tz=TZ)


def _zenith_deg(times):
    return Location(LAT, LON, tz=TZ, altitude=ALT_M).get_solarposition(times)["zenith"].to_numpy()


# --- clear_sky_index -------------------------------------------------------


def test_clear_sky_index_same_seed_identical():
    t = _times(periods=2 * 96)
    a = clear_sky_index(t, np.random.default_rng(42))
    b = clear_sky_index(t, np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)


def test_clear_sky_index_different_seeds_differ():
    t = _times(periods=2 * 96)
    a = clear_sky_index(t, np.random.default_rng(1))
    b = clear_sky_index(t, np.random.default_rng(2))
    assert not np.allclose(a, b)


@pytest.mark.parametrize("mean_kc", [0.5, 0.75, 0.9])
def test_clear_sky_index_bounds_and_mean_60_days(mean_kc):
    t = _times(start="2024-01-01", periods=60 * 96)
    kc = clear_sky_index(t, np.random.default_rng(7), mean_kc=mean_kc)
    assert kc.shape == (len(t),)
    assert kc.min() >= 0.05 and kc.max() <= 1.25
    assert abs(kc.mean() - mean_kc) < 0.05


@pytest.mark.parametrize("freq", ["1min", "1h"])
def test_clear_sky_index_any_step(freq):
    t = pd.date_range("2024-01-01", "2024-01-08", freq=freq, tz=TZ, inclusive="left")
    kc = clear_sky_index(t, np.random.default_rng(3))
    assert kc.shape == (len(t),)
    assert np.all((kc >= 0.05) & (kc <= 1.25))
    assert kc.std() > 0.05


def test_clear_sky_index_persistence_raises_autocorrelation():
    t = _times(start="2024-01-01", periods=20 * 1440, freq="1min")

    def lag1(tau_s):
        kc = clear_sky_index(t, np.random.default_rng(5), mean_kc=0.72, persistence_s=tau_s)
        d = kc - kc.mean()
        return float(d[1:] @ d[:-1] / (d @ d))

    assert lag1(3600.0) > lag1(60.0)


def test_clear_sky_index_no_variability_is_clear_sky():
    kc = clear_sky_index(
        _times(periods=3 * 96), np.random.default_rng(0), mean_kc=1.0, variability=0.0
    )
    np.testing.assert_allclose(kc, 1.0)


# --- synthetic_weather -------------------------------------------------------


def test_synthetic_weather_shape_and_index():
    t = _times()
    w = synthetic_weather(t, LAT, LON, ALT_M, np.random.default_rng(0))
    assert tuple(w.columns) == WEATHER_COLUMNS
    assert w.index.equals(t)
    assert not w.isna().any().any()


def test_synthetic_weather_clear_sky_noon_fort_de_france_june():
    t = pd.DatetimeIndex([pd.Timestamp("2024-06-21 12:00", tz=TZ)])
    w = synthetic_weather(
        t, LAT, LON, ALT_M, np.random.default_rng(0), mean_kc=1.0, variability=0.0
    )
    ghi = w["ghi_w_per_m2"].iloc[0]
    assert 950.0 <= ghi <= 1100.0
    assert ghi == pytest.approx(974.08, abs=1.0)  # Ineichen, pvlib Linke turbidity


def test_synthetic_weather_zero_at_night():
    t = _times(periods=4 * 96)
    w = synthetic_weather(t, LAT, LON, ALT_M, np.random.default_rng(1))
    night = _zenith_deg(t) >= 90.0
    assert night.sum() > 100
    irr = w[["ghi_w_per_m2", "dni_w_per_m2", "dhi_w_per_m2"]].to_numpy()
    assert np.all(irr[night] == 0.0)
    assert np.all(irr >= 0.0)


def test_synthetic_weather_closure():
    t = _times(periods=4 * 96)
    w = synthetic_weather(t, LAT, LON, ALT_M, np.random.default_rng(2))
    cosz = np.cos(np.radians(_zenith_deg(t)))
    up = cosz > 0
    recon = w["dni_w_per_m2"] * cosz + w["dhi_w_per_m2"]
    np.testing.assert_allclose(recon[up], w["ghi_w_per_m2"][up], atol=1e-6)


def test_synthetic_weather_same_seed_identical():
    t = _times()
    a = synthetic_weather(t, LAT, LON, ALT_M, np.random.default_rng(9))
    b = synthetic_weather(t, LAT, LON, ALT_M, np.random.default_rng(9))
    pd.testing.assert_frame_equal(a, b)


def test_synthetic_weather_temperature_and_wind():
    t = _times(start="2024-03-01", periods=30 * 24, freq="1h")
    w = synthetic_weather(t, LAT, LON, ALT_M, np.random.default_rng(4))
    hourly = w["temp_air_c"].groupby(w.index.hour).mean()
    assert hourly.idxmin() in (5, 6, 7)
    assert hourly.idxmax() in (13, 14, 15)
    assert w["temp_air_c"].mean() == pytest.approx(27.0, abs=0.5)
    assert hourly.max() - hourly.min() == pytest.approx(7.0, abs=1.0)
    assert w["wind_speed_m_per_s"].min() >= 0.0
    assert w["wind_speed_m_per_s"].mean() == pytest.approx(5.0, abs=0.5)


# --- read_weather_csv --------------------------------------------------------


def _write_csv(path, columns=("ghi_w_per_m2", "temp_air_c"), start="2024-06-21", hours=24):
    stamps = pd.date_range(start, periods=hours + 1, freq="1h", tz=TZ)
    clear = Location(LAT, LON, tz=TZ, altitude=ALT_M).get_clearsky(stamps)
    data = {"timestamp": stamps.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")}
    if "ghi_w_per_m2" in columns:
        data["ghi_w_per_m2"] = clear["ghi"].to_numpy()
    if "temp_air_c" in columns:
        data["temp_air_c"] = np.arange(hours + 1, dtype=float)
    if "wind_speed_m_per_s" in columns:
        data["wind_speed_m_per_s"] = 3.0
    pd.DataFrame(data).to_csv(path, index=False)
    return path


def test_read_weather_csv_interpolates_and_defaults(tmp_path):
    path = _write_csv(tmp_path / "wx.csv")
    t = pd.date_range("2024-06-21 00:00", "2024-06-21 23:45", freq="15min", tz=TZ)
    w = read_weather_csv(path, t, LAT, LON, ALT_M)
    assert tuple(w.columns) == WEATHER_COLUMNS
    assert w.index.equals(t)
    # temperature = hours since start in the file: a straight line, whose mean over a step
    # is its value at the midpoint; the first step reaches 7.5 min before the file and
    # gets the mean over its covered half [0, 7.5 min]: 3.75 min = 0.0625 h
    np.testing.assert_allclose(w["temp_air_c"][1:], np.arange(1, len(t)) / 4.0)
    assert w["temp_air_c"].iloc[0] == pytest.approx(0.0625)
    np.testing.assert_allclose(w["wind_speed_m_per_s"], 1.0)
    cosz = np.cos(np.radians(_zenith_deg(t)))
    up = cosz > 0
    recon = w["dni_w_per_m2"] * cosz + w["dhi_w_per_m2"]
    np.testing.assert_allclose(recon[up], w["ghi_w_per_m2"][up], atol=1e-6)
    noon = w.loc["2024-06-21 12:00"]
    assert noon["kc"] == pytest.approx(1.0, abs=0.01)
    assert w.loc["2024-06-21 02:00", "kc"] == 1.0


def test_read_weather_csv_optional_wind(tmp_path):
    path = _write_csv(tmp_path / "wx.csv", ("ghi_w_per_m2", "temp_air_c", "wind_speed_m_per_s"))
    t = _times(periods=8, freq="1h")
    w = read_weather_csv(path, t, LAT, LON, ALT_M)
    np.testing.assert_allclose(w["wind_speed_m_per_s"], 3.0)


def test_read_weather_csv_missing_column_error(tmp_path):
    path = _write_csv(tmp_path / "no_temp.csv", ("ghi_w_per_m2",))
    with pytest.raises(ValueError, match=r"no_temp\.csv.*temp_air_c"):
        read_weather_csv(path, _times(periods=4), LAT, LON, ALT_M)


def test_read_weather_csv_period_not_covered_error(tmp_path):
    path = _write_csv(tmp_path / "short.csv", hours=6)
    t = _times(periods=48)  # 12 h asked, 6 h in the file
    with pytest.raises(ValueError, match=r"short\.csv covers .* was requested"):
        read_weather_csv(path, t, LAT, LON, ALT_M)


@pytest.mark.parametrize("given", ["dni_w_per_m2", "dhi_w_per_m2"])
def test_read_weather_csv_one_component_closure(tmp_path, given):
    path = _write_csv(tmp_path / "wx.csv")
    df = pd.read_csv(path)
    stamps = pd.DatetimeIndex(pd.to_datetime(df["timestamp"], utc=True)).tz_convert(TZ)
    clear = Location(LAT, LON, tz=TZ, altitude=ALT_M).get_clearsky(stamps)
    df[given] = clear[given[:3]].to_numpy()
    df.to_csv(path, index=False)
    t = _times(periods=12 * 4)
    w = read_weather_csv(path, t, LAT, LON, ALT_M)
    cosz = np.cos(np.radians(_zenith_deg(t)))
    up = cosz > 0
    recon = w["dni_w_per_m2"] * cosz + w["dhi_w_per_m2"]
    np.testing.assert_allclose(recon[up], w["ghi_w_per_m2"][up], atol=1e-6)
    # the step mean around an hourly sample is within 1 % of it on a clear-sky curve
    assert w.loc["2024-06-21 11:00", given] == pytest.approx(
        clear.loc["2024-06-21 11:00", given[:3]], rel=0.01
    )


# --- resampling onto the step, and timestamps without an offset -------------


def _csv_rows(path, rows):
    pd.DataFrame(rows, columns=["timestamp", "ghi_w_per_m2", "temp_air_c"]).to_csv(
        path, index=False)
    return path


def test_read_weather_csv_step_mean_hand_numbers(tmp_path):
    """Samples every 10 min (0, 60, 120, 60 degC at 12:00 .. 12:30 UTC) onto 15-min steps.
    Hand oracle, the mean of the straight lines over each step:
    [12:00, 12:15): (10 min x avg(0, 60) + 5 min x avg(60, 90)) / 15 = (300 + 375) / 15 = 45
    [12:15, 12:30): (5 min x avg(90, 120) + 10 min x avg(120, 60)) / 15 = (525 + 900) / 15 = 95
    (point interpolation at the midpoints would give 45 and 105)."""
    path = _csv_rows(tmp_path / "fine.csv", [
        ("2024-06-21T12:00:00Z", 0.0, 0.0), ("2024-06-21T12:10:00Z", 0.0, 60.0),
        ("2024-06-21T12:20:00Z", 0.0, 120.0), ("2024-06-21T12:30:00Z", 0.0, 60.0)])
    mids = pd.DatetimeIndex(["2024-06-21T12:07:30Z", "2024-06-21T12:22:30Z"]).tz_convert(TZ)
    w = read_weather_csv(path, mids, LAT, LON, ALT_M)
    np.testing.assert_allclose(w["temp_air_c"], [45.0, 95.0])


def test_read_weather_csv_coarse_file_is_interpolated(tmp_path):
    """Hourly samples 10 and 20 degC, 15-min steps: the line's mean over a step is its
    value at the midpoint: 10 + 10 x 7.5/60 = 11.25, then 13.75, 16.25, 18.75."""
    path = _csv_rows(tmp_path / "hourly.csv", [
        ("2024-06-21T12:00:00+00:00", 0.0, 10.0), ("2024-06-21T13:00:00+00:00", 0.0, 20.0)])
    mids = pd.date_range("2024-06-21T12:07:30Z", periods=4, freq="15min")
    w = read_weather_csv(path, mids, LAT, LON, ALT_M)
    np.testing.assert_allclose(w["temp_air_c"], [11.25, 13.75, 16.25, 18.75])


@pytest.mark.parametrize("stamp", ["2024-06-21 12:00", "2024-06-21T12:00:00", "2024-06-21"])
def test_read_weather_csv_refuses_stamps_without_offset(tmp_path, stamp):
    path = _csv_rows(tmp_path / "local.csv", [
        ("2024-06-21T11:00:00Z", 0.0, 1.0), (stamp, 0.0, 2.0)])
    mids = pd.DatetimeIndex(["2024-06-21T11:30:00Z"])
    with pytest.raises(ValueError, match=r"local\.csv: column 'timestamp' row 2 .* no UTC "
                       r"offset.*weather\.timezone"):
        read_weather_csv(path, mids, LAT, LON, ALT_M)


def test_read_weather_csv_naive_stamps_in_a_given_zone(tmp_path):
    """With naive_tz, 08:00 local Martinique time (UTC-4) is 12:00 UTC."""
    path = _csv_rows(tmp_path / "local.csv", [
        ("2024-06-21 08:00", 0.0, 10.0), ("2024-06-21 09:00", 0.0, 20.0)])
    mids = pd.DatetimeIndex(["2024-06-21T12:30:00Z"])
    w = read_weather_csv(path, mids, LAT, LON, ALT_M, naive_tz="America/Martinique")
    assert w["temp_air_c"].iloc[0] == pytest.approx(15.0)
    with pytest.raises(ValueError, match="covers"):  # read as UTC it would not cover 12:30
        read_weather_csv(path, mids, LAT, LON, ALT_M, naive_tz="UTC")
