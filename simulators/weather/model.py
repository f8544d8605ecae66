"""Weather model: irradiance, air temperature and wind for the PV simulators.

Pure, vectorised functions (no mosaik). Every output is a DataFrame indexed by
the requested timezone-aware ``times`` with the columns :data:`WEATHER_COLUMNS`:

- ``ghi_w_per_m2``, ``dni_w_per_m2``, ``dhi_w_per_m2``: global horizontal,
  direct normal and diffuse horizontal irradiance. [W/m2]
- ``temp_air_c``: air temperature. [°C]
- ``wind_speed_m_per_s``: wind speed at 10 m. [m/s]
- ``kc``: clear-sky index, GHI / clear-sky GHI (Ineichen). [-]

Irradiance components satisfy ``ghi = dni * cos(zenith) + dhi`` while the sun is
up and are all zero at night. Weather produces or consumes no power, so the
project sign convention (positive = consumption) does not apply here.
"""

from __future__ import annotations

import re
from os import PathLike

import numpy as np
import pandas as pd
import pvlib
from scipy.signal import lfilter

WEATHER_COLUMNS = (
    "ghi_w_per_m2",
    "dni_w_per_m2",
    "dhi_w_per_m2",
    "temp_air_c",
    "wind_speed_m_per_s",
    "kc",
)

KC_MIN = 0.05
KC_MAX = 1.25
#: Daily sky regimes (clear, broken trade-wind cumulus, overcast).
REGIME_KC = np.array([0.97, 0.72, 0.38])  # mean clear-sky index [-]
REGIME_SIGMA_SCALE = np.array([0.25, 1.0, 0.5])  # relative OU std [-]
REGIME_DIP_RATE_PER_H = np.array([0.5, 3.0, 0.5])  # cloud passages [1/h]
DIP_DURATION_MEAN_S = 240.0
DIP_DEPTH_MEAN = 0.5
CLEAR_SKY_MIN_GHI_W_PER_M2 = 10.0


def _step_s(times: pd.DatetimeIndex) -> float:
    """Median time step of ``times``. [s] (3600 for a single timestamp)."""
    if len(times) < 2:
        return 3600.0
    return float(np.median((times[1:] - times[:-1]).total_seconds()))


def _ar1(n: int, step_s: float, tau_s: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary unit-variance AR(1) (sampled Ornstein-Uhlenbeck) series."""
    phi = float(np.exp(-step_s / max(tau_s, 1e-9)))
    eps = rng.standard_normal(n) * np.sqrt(1.0 - phi**2)
    if n:
        eps[0] = rng.standard_normal()
    return lfilter([1.0], [1.0, -phi], eps)


def _regime_probabilities(mean_kc: float) -> np.ndarray:
    """Daily probabilities of (clear, broken, overcast) whose mixture mean is ``mean_kc``."""
    mu_c, mu_b, mu_o = REGIME_KC
    m = float(np.clip(mean_kc, mu_o, mu_c))
    w = (m - 0.5 * mu_b - 0.5 * mu_o) / (mu_c - mu_o)
    if 0.0 <= w <= 0.5:
        return np.array([w, 0.5, 0.5 - w])
    if m > mu_b:
        p_c = (m - mu_b) / (mu_c - mu_b)
        return np.array([p_c, 1.0 - p_c, 0.0])
    p_o = (mu_b - m) / (mu_b - mu_o)
    return np.array([0.0, 1.0 - p_o, p_o])


def clear_sky_index(
    times: pd.DatetimeIndex,
    rng: np.random.Generator,
    *,
    mean_kc: float = 0.75,
    variability: float = 0.25,
    persistence_s: float = 1800.0,
) -> np.ndarray:
    r"""Seeded stochastic clear-sky index for a tropical trade-wind climate.

    Each calendar day ``d`` (in the timezone of ``times``) draws a regime
    ``r_d`` in {clear, broken cumulus, overcast} with probabilities ``p_r``
    chosen so that :math:`\sum_r p_r \mu_r = \bar k_c` (``mean_kc``), with
    regime means :math:`\mu = (0.97, 0.72, 0.38)`. Within the day

    .. math::

        k_c(t) = \mathrm{clip}\left( \frac{\mu_{r_d} + \Delta}{1 - \bar\delta f_{r_d}}
                 + \sigma s_{r_d} z(t) \right) \cdot (1 - \delta(t)),
                 \quad z_{k+1} = \phi z_k + \sqrt{1-\phi^2}\,\varepsilon_k,
                 \quad \phi = e^{-\Delta t / \tau}

    where :math:`z` is a unit-variance Ornstein-Uhlenbeck process sampled at
    step :math:`\Delta t` with correlation time :math:`\tau` (``persistence_s``),
    :math:`\sigma` is ``variability``, :math:`s_r = (0.25, 1.0, 0.5)` scales it
    per regime, and :math:`\varepsilon_k \sim N(0, 1)`. Cloud passages arrive as
    a Poisson process (0.5, 3 and 0.5 per hour per regime at the default
    ``variability`` 0.25, proportional to it), last an exponential
    time (mean 240 s) and dim the sky by a uniform depth in [0.3, 0.7]; the
    step's dip :math:`\delta(t)` is the depth times the covered fraction of the
    step. The level is divided by :math:`1 - \bar\delta f_r`
    (:math:`f_r` = expected dip time fraction) so dips keep the mean;
    :math:`\Delta` is non-zero only when ``mean_kc`` lies outside
    [0.38, 0.97]. The result is clipped to [0.05, 1.25] (values above 1 are
    cloud enhancement). ``mean_kc=1, variability=0`` gives exactly 1 (clear sky).

    Parameters
    ----------
    times : pd.DatetimeIndex
        Regular time steps (1 min .. 1 h).
    rng : np.random.Generator
        Seeded generator; the same seed gives the same series.
    mean_kc : float, default 0.75
        Long-run mean clear-sky index. [-]
    variability : float, default 0.25
        Standard deviation of the intra-day fluctuation on broken days. [-]
    persistence_s : float, default 1800
        Correlation time of the intra-day fluctuation. [s]

    Returns
    -------
    np.ndarray
        Clear-sky index per time step. [-]
    """
    n = len(times)
    if n == 0:
        return np.zeros(0)
    step_s = _step_s(times)
    days, _ = pd.factorize(times.normalize())
    n_days = int(days.max()) + 1
    probs = _regime_probabilities(mean_kc)
    offset = mean_kc - float(probs @ REGIME_KC) if n_days else 0.0
    regime = rng.choice(3, size=n_days, p=probs)[days]

    dip_fraction = np.minimum(
        REGIME_DIP_RATE_PER_H * variability / 0.25 / 3600.0 * DIP_DURATION_MEAN_S, 0.9
    )
    level = (REGIME_KC + offset) / (1.0 - DIP_DEPTH_MEAN * dip_fraction)
    z = _ar1(n, step_s, persistence_s, rng)
    kc = level[regime] + variability * REGIME_SIGMA_SCALE[regime] * z

    # cloud passages: Poisson arrivals per step, exponential durations
    dip_rate_per_h = REGIME_DIP_RATE_PER_H * variability / 0.25
    n_events = rng.poisson(dip_rate_per_h[regime] / 3600.0 * step_s)
    starts = np.repeat(np.arange(n), n_events)
    durations_steps = rng.exponential(DIP_DURATION_MEAN_S, starts.size) / step_s
    depths = rng.uniform(0.3, 0.7, starts.size)
    dip = np.zeros(n)
    for k, d_steps, depth in zip(starts, durations_steps, depths, strict=True):
        n_full = int(d_steps)
        stop = min(k + n_full, n)
        dip[k:stop] = np.maximum(dip[k:stop], depth)
        if stop < n:
            dip[stop] = max(dip[stop], depth * (d_steps - n_full))
    return np.clip(kc * (1.0 - dip), KC_MIN, KC_MAX)


def _location(times, latitude, longitude, altitude_m) -> pvlib.location.Location:
    return pvlib.location.Location(latitude, longitude, tz=times.tz or "UTC", altitude=altitude_m)


def _decompose(ghi, zenith, times) -> tuple[np.ndarray, np.ndarray]:
    """Erbs split of GHI into DNI and DHI with exact closure. [W/m2]"""
    parts = pvlib.irradiance.erbs(ghi, zenith, times)
    dni = np.nan_to_num(np.asarray(parts["dni"], dtype=float))
    cosz = np.cos(np.radians(np.asarray(zenith, dtype=float)))
    dhi = np.maximum(np.asarray(ghi, dtype=float) - dni * np.maximum(cosz, 0.0), 0.0)
    return dni, dhi


def _frame(times, ghi, dni, dhi, temp_air_c, wind, kc, zenith) -> pd.DataFrame:
    """Assemble the weather frame, zeroing irradiance at night."""
    night = np.asarray(zenith, dtype=float) >= 90.0
    ghi, dni, dhi = (np.where(night, 0.0, np.maximum(x, 0.0)) for x in (ghi, dni, dhi))
    data = dict(zip(WEATHER_COLUMNS, (ghi, dni, dhi, temp_air_c, wind, kc), strict=True))
    return pd.DataFrame(data, index=times, columns=list(WEATHER_COLUMNS)).astype(float)


def synthetic_weather(
    times: pd.DatetimeIndex,
    latitude: float,
    longitude: float,
    altitude_m: float,
    rng: np.random.Generator,
    *,
    mean_kc: float = 0.75,
    variability: float = 0.25,
    persistence_s: float = 1800.0,
    temp_mean_c: float = 27.0,
    temp_amplitude_c: float = 3.5,
    wind_mean_m_per_s: float = 5.0,
) -> pd.DataFrame:
    r"""Seeded synthetic weather for a tropical island site.

    GHI is ``kc * ghi_clear`` (Ineichen clear sky with pvlib's Linke turbidity
    climatology, :func:`clear_sky_index` for ``kc``), split into DNI and DHI
    with the Erbs model and :math:`dhi = ghi - dni \cos z` for exact closure.
    Air temperature is an asymmetric diurnal wave in local solar time ``h``
    (minimum at 06:00, maximum at 14:00) plus AR(1) noise (std 0.3 °C, 3 h):

    .. math::

        T(h) = \bar T - A \cos(\pi (h - 6) / 8) \;\; (6 \le h < 14), \qquad
        T(h) = \bar T + A \cos(\pi (h - 14) / 16) \;\; \text{otherwise}

    Wind is the trade-wind mean times ``1 + 0.1 sin(pi (h - 8) / 12)``
    (afternoon maximum) plus AR(1) noise (std 20 % of the mean, 2 h), clipped
    at 0.

    Parameters
    ----------
    times : pd.DatetimeIndex
        Timezone-aware regular time steps.
    latitude, longitude : float
        Site position. [degrees north, degrees east]
    altitude_m : float
        Site altitude. [m]
    rng : np.random.Generator
        Seeded generator.
    mean_kc, variability, persistence_s : float
        See :func:`clear_sky_index`.
    temp_mean_c : float, default 27.0
        Daily mean air temperature. [°C]
    temp_amplitude_c : float, default 3.5
        Half the diurnal temperature range. [°C]
    wind_mean_m_per_s : float, default 5.0
        Mean wind speed. [m/s]

    Returns
    -------
    pd.DataFrame
        Indexed by ``times``, columns :data:`WEATHER_COLUMNS`.
    """
    loc = _location(times, latitude, longitude, altitude_m)
    solpos = loc.get_solarposition(times)
    clear = loc.get_clearsky(times, model="ineichen", solar_position=solpos)
    kc = clear_sky_index(
        times, rng, mean_kc=mean_kc, variability=variability, persistence_s=persistence_s
    )
    ghi = kc * clear["ghi"].to_numpy()
    dni, dhi = _decompose(ghi, solpos["zenith"], times)

    n, step_s = len(times), _step_s(times)
    utc_h = (times.as_unit("ns").asi8 // 10**9 % 86400) / 3600.0
    h = np.mod(utc_h + longitude / 15.0, 24.0)  # local solar time [h]
    rising = (h >= 6.0) & (h < 14.0)
    wave = np.where(
        rising, -np.cos(np.pi * (h - 6.0) / 8.0), np.cos(np.pi * np.mod(h - 14.0, 24.0) / 16.0)
    )
    temp_air_c = temp_mean_c + temp_amplitude_c * wave + 0.3 * _ar1(n, step_s, 3 * 3600.0, rng)
    wind = wind_mean_m_per_s * (
        1.0 + 0.1 * np.sin(np.pi * (h - 8.0) / 12.0) + 0.2 * _ar1(n, step_s, 2 * 3600.0, rng)
    )
    return _frame(times, ghi, dni, dhi, temp_air_c, np.maximum(wind, 0.0), kc, solpos["zenith"])


_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$",
                     re.IGNORECASE)


def _csv_stamps(path, column: pd.Series, naive_tz: str | None) -> pd.DatetimeIndex:
    """The CSV's timestamps in UTC. Stamps without a UTC offset are refused unless
    ``naive_tz`` (an IANA zone) says how to read them."""
    text = column.astype(str).str.strip()
    naive = ~text.str.contains(_OFFSET)
    if naive.any() and naive_tz is None:
        row = int(np.argmax(naive.to_numpy()))
        raise ValueError(
            f"weather CSV {path}: column 'timestamp' row {row + 1} ({text.iloc[row]!r}) has no "
            "UTC offset; write the offset (e.g. 2026-06-01T12:00:00-04:00 or "
            "2026-06-01T16:00:00Z) or set weather.timezone (e.g. America/Martinique) to read "
            "offset-less stamps as local time there")
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if (~naive).any():
        out[~naive] = pd.to_datetime(text[~naive], utc=True, format="ISO8601")
    if naive.any():
        local = pd.DatetimeIndex(pd.to_datetime(text[naive], format="ISO8601"))
        try:
            utc = local.tz_localize(naive_tz, ambiguous="raise", nonexistent="raise")
        except Exception as exc:  # noqa: BLE001 - pytz's InvalidTimeError is no ValueError
            raise ValueError(f"weather CSV {path}: column 'timestamp': {exc} is ambiguous or "
                             f"does not exist in {naive_tz} (a DST change); write the UTC "
                             "offset on these stamps") from None
        out[naive] = utc.tz_convert("UTC")
    return pd.DatetimeIndex(out)


def step_means(t_csv_s: np.ndarray, values: np.ndarray, a_s: np.ndarray,
               b_s: np.ndarray) -> np.ndarray:
    """Mean of the CSV's linear interpolant over each interval ``[a, b)`` (times in s).

    The interpolant joins the samples by straight lines; its integral up to ``t`` is
    piecewise quadratic. Parts of an interval outside the file are left out (the mean is
    over the covered part); an interval of zero length gives the interpolated value.
    """
    t, v = np.asarray(t_csv_s, float), np.asarray(values, float)
    seg_area = np.diff(t) * (v[:-1] + v[1:]) / 2.0
    cum = np.concatenate([[0.0], np.cumsum(seg_area)])
    slope = np.diff(v) / np.where(np.diff(t) > 0, np.diff(t), np.inf)

    def integral(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, t[0], t[-1])
        i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, max(len(t) - 2, 0))
        dx = x - t[i]
        return cum[i] + v[i] * dx + 0.5 * slope[i] * dx**2 if len(t) > 1 else 0.0 * x

    a, b = np.clip(a_s, t[0], t[-1]), np.clip(b_s, t[0], t[-1])
    width = b - a
    point = np.interp((a + b) / 2.0, t, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (integral(b) - integral(a)) / width
    return np.where(width > 0, mean, point)


def read_weather_csv(
    path: str | PathLike,
    times: pd.DatetimeIndex,
    latitude: float,
    longitude: float,
    altitude_m: float,
    naive_tz: str | None = None,
) -> pd.DataFrame:
    """Read measured weather from a CSV and resample it onto the steps centred on ``times``.

    Resampling: each value is the mean over the step ``[t - step/2, t + step/2)`` of the
    straight lines joining the CSV's samples (``step`` = the spacing of ``times``). A CSV
    coarser than the step is thus interpolated linearly; a finer one is averaged over the
    step, so energy is kept. Where the step reaches past the file's first or last stamp,
    the mean is over the covered part.

    Parameters
    ----------
    path : str or path-like
        CSV with a ``timestamp`` column (ISO 8601 with a UTC offset, e.g.
        ``2026-06-01T12:00:00-04:00`` or ``...Z``), ``ghi_w_per_m2`` [W/m2] and
        ``temp_air_c`` [°C]; optional ``dni_w_per_m2``, ``dhi_w_per_m2`` [W/m2]
        (missing ones are derived with Erbs / closure) and ``wind_speed_m_per_s`` [m/s]
        (default 1.0).
    times : pd.DatetimeIndex
        Timezone-aware step midpoints; they must lie inside the CSV period.
    latitude, longitude : float
        Site position. [degrees north, degrees east]
    altitude_m : float
        Site altitude. [m]
    naive_tz : str, optional
        IANA zone in which stamps without an offset are read; None (default) refuses them.

    Returns
    -------
    pd.DataFrame
        Indexed by ``times``, columns :data:`WEATHER_COLUMNS`; ``kc`` is
        GHI / clear-sky GHI where clear-sky GHI > 10 W/m2, else 1.

    Raises
    ------
    ValueError
        If a required column is missing, a stamp has no offset (and no ``naive_tz``),
        or the CSV does not cover ``times``.
    """
    raw = pd.read_csv(path)
    for col in ("timestamp", "ghi_w_per_m2", "temp_air_c"):
        if col not in raw.columns:
            raise ValueError(
                f"weather CSV {path}: missing required column '{col}' "
                f"(found: {', '.join(map(str, raw.columns))})"
            )
    if raw.empty:
        raise ValueError(f"weather CSV {path}: no rows")
    stamps = _csv_stamps(path, raw["timestamp"], naive_tz)
    raw = raw.assign(timestamp=stamps).sort_values("timestamp")
    t_csv = pd.DatetimeIndex(raw["timestamp"]).as_unit("ns").asi8
    t_req = times.tz_convert("UTC") if times.tz is not None else times.tz_localize("UTC")
    t_req_ns = t_req.as_unit("ns").asi8
    if len(times) and (t_req_ns.min() < t_csv[0] or t_req_ns.max() > t_csv[-1]):
        raise ValueError(
            f"weather CSV {path} covers {raw['timestamp'].iloc[0]} .. "
            f"{raw['timestamp'].iloc[-1]} but {times.min()} .. {times.max()} was requested"
        )
    half_s = _step_s(times) / 2.0
    t_s, mid_s = (t_csv - t_csv[0]) / 1e9, (t_req_ns - t_csv[0]) / 1e9

    def interp(col: str) -> np.ndarray:
        values = pd.to_numeric(raw[col], errors="raise").to_numpy(dtype=float)
        return step_means(t_s, values, mid_s - half_s, mid_s + half_s)

    loc = _location(times, latitude, longitude, altitude_m)
    solpos = loc.get_solarposition(times)
    zenith = solpos["zenith"].to_numpy()
    cosz = np.cos(np.radians(zenith))
    cosz_safe = np.where(cosz > 0.065, cosz, np.inf)  # sun near the horizon: all diffuse
    ghi = np.maximum(interp("ghi_w_per_m2"), 0.0)
    if "dni_w_per_m2" in raw and "dhi_w_per_m2" in raw:
        dni, dhi = interp("dni_w_per_m2"), interp("dhi_w_per_m2")
    else:
        if "dni_w_per_m2" in raw:
            dni = np.clip(interp("dni_w_per_m2"), 0.0, ghi / cosz_safe)
        elif "dhi_w_per_m2" in raw:
            dni = np.maximum(ghi - interp("dhi_w_per_m2"), 0.0) / cosz_safe
        else:
            dni = _decompose(ghi, zenith, times)[0]
        dhi = ghi - dni * np.maximum(cosz, 0.0)
    wind = interp("wind_speed_m_per_s") if "wind_speed_m_per_s" in raw else np.ones(len(times))
    ghi_clear = loc.get_clearsky(times, model="ineichen", solar_position=solpos)["ghi"].to_numpy()
    ok = ghi_clear > CLEAR_SKY_MIN_GHI_W_PER_M2
    kc = np.where(ok, ghi / np.where(ok, ghi_clear, 1.0), 1.0)
    return _frame(times, ghi, dni, dhi, interp("temp_air_c"), wind, kc, zenith)
