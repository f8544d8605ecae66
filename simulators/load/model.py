"""Seeded synthetic load profiles for Martinique households and small offices.

Sign convention: positive = consumption. All powers are interval means over the
time step that starts at each timestamp.

Model of one household over local time ``t`` (America/Martinique, UTC-4, no DST)::

    p(t) = (1 - f_spike) * p_mean * s(h(t) - tau) * (1 + sigma * z(t)) + spikes(t)
    s(h) = 1 + alpha * (template_daytype(h) - 1),   weekly mean of template = 1
    z(t) = phi * z(t - dt) + sqrt(1 - phi**2) * eps(t),   phi = exp(-dt / 1 h)

with ``p_mean = annual_kwh / 8760``, a random time shift ``tau`` in [-0.5, 0.5] h,
an amplitude factor ``alpha`` in [0.7, 1.3], ``sigma = noise_percent / 100`` and
``z`` a unit-variance AR(1) process. ``spikes`` are short appliance events (kettle,
washing machine, AC compressor) drawn as a Poisson number of events whose
start times follow ``s`` and whose expected energy is ``f_spike * p_mean * T``,
so the expected mean power is ``p_mean``: single households are spiky, the
aggregate is smooth.

The tropical residential template has no heating; it has a morning peak
(06:30-08:00, later on weekends), afternoon AC and fans, an evening peak
(18:30-21:30: cooking, lighting, TV, AC) and a low night base of fridge and AC
cycling. The commercial template is an office on 08:00-17:00 weekdays with AC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

LOCAL_TZ = "America/Martinique"
PROFILES = ("residential", "commercial")
SPIKE_ENERGY_FRACTION = 0.15
AR1_CORRELATION_TIME_S = 3600.0

# (name, share of spike energy, power [kW], duration [min]) per appliance event
APPLIANCES = (
    ("kettle", 0.15, 2.0, 3.0),
    ("washing_machine", 0.35, 1.8, 60.0),
    ("ac_compressor", 0.50, 1.2, 20.0),
)

# Gaussian bumps (centre [h], width [h], height [-]) on top of a base, per profile and day type
_BUMPS = {
    ("residential", False): (0.45, ((7.1, 0.6, 0.9), (12.5, 1.2, 0.25), (15.5, 2.0, 0.35),
                                    (20.0, 1.3, 1.6))),
    ("residential", True): (0.45, ((9.0, 1.1, 0.8), (12.8, 1.5, 0.55), (15.5, 2.2, 0.5),
                                   (20.0, 1.4, 1.5))),
    ("commercial", False): (0.25, ((9.6, 1.3, 1.1), (12.5, 1.3, 0.95), (15.4, 1.3, 1.1))),
    ("commercial", True): (0.25, ((12.0, 3.0, 0.1),)),
}


@dataclass(frozen=True)
class LoadParams:
    """Parameters of one load.

    Attributes
    ----------
    annual_kwh : Expected annual consumption. [kWh]
    profile : Daily template, one of ``PROFILES``.
    power_factor : Lagging (inductive) power factor. [-]
    noise_percent : Standard deviation of the AR(1) multiplicative noise. [%]
    """

    annual_kwh: float = 2800.0
    profile: str = "residential"
    power_factor: float = 0.95
    noise_percent: float = 15.0

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"LoadParams.profile={self.profile!r}: allowed values are {PROFILES}")
        if not 0.0 < self.power_factor <= 1.0:
            raise ValueError(f"LoadParams.power_factor={self.power_factor!r}: must be in (0, 1]")
        if self.annual_kwh < 0.0 or self.noise_percent < 0.0:
            raise ValueError("LoadParams.annual_kwh and noise_percent must be >= 0")


def _raw_template(profile: str, weekend: bool, hour) -> np.ndarray:
    base, bumps = _BUMPS[(profile, weekend)]
    h = np.asarray(hour, dtype=float)
    out = np.full(h.shape, base)
    for centre, width, height in bumps:
        d = (h - centre + 12.0) % 24.0 - 12.0  # periodic distance to the centre [h]
        out = out + height * np.exp(-0.5 * (d / width) ** 2)
    return out


def _weekly_mean(profile: str) -> float:
    grid_h = np.arange(0.0, 24.0, 1.0 / 60.0)
    wd = _raw_template(profile, False, grid_h).mean()
    we = _raw_template(profile, True, grid_h).mean()
    return (5.0 * wd + 2.0 * we) / 7.0


def daily_template(hour, weekend, profile: str = "residential") -> np.ndarray:
    """Normalised load shape, weekly mean 1.

    Parameters
    ----------
    hour : array_like
        Local hour of day, may be fractional. [h]
    weekend : array_like of bool
        True on Saturday and Sunday.
    profile : str
        One of ``PROFILES``.

    Returns
    -------
    numpy.ndarray
        Relative power. [-]
    """
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r}: allowed values are {PROFILES}")
    hour, weekend = np.broadcast_arrays(np.asarray(hour, dtype=float), np.asarray(weekend, bool))
    shape = np.where(weekend, _raw_template(profile, True, hour), _raw_template(profile, False, hour))
    return shape / _weekly_mean(profile)


def _local_hours(times: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, float]:
    if times.tz is None:
        raise ValueError("times must be timezone-aware (e.g. tz='America/Martinique')")
    local = times.tz_convert(LOCAL_TZ)
    hour = local.hour + local.minute / 60.0 + local.second / 3600.0
    weekend = local.dayofweek >= 5
    dt_s = float(np.median(np.diff(times.asi8)) / 1e9) if len(times) > 1 else 3600.0
    return np.asarray(hour, dtype=float), np.asarray(weekend), dt_s


def _ar1(n: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    eps = rng.standard_normal(n)
    eps[0] /= np.sqrt(1.0 - phi**2) if phi < 1.0 else 1.0  # stationary start
    return lfilter([np.sqrt(1.0 - phi**2)], [1.0, -phi], eps)


def _spikes_kw(shape: np.ndarray, mean_kw: float, dt_s: float,
               rng: np.random.Generator) -> np.ndarray:
    n = shape.size
    out = np.zeros(n)
    dt_h = dt_s / 3600.0
    e_spike_kwh = SPIKE_ENERGY_FRACTION * mean_kw * n * dt_h
    p_start = shape / shape.sum()
    for _name, share, power_kw, duration_min in APPLIANCES:
        duration_h = duration_min / 60.0
        n_events = rng.poisson(share * e_spike_kwh / (power_kw * duration_h))
        if n_events == 0:
            continue
        start = rng.choice(n, size=n_events, p=p_start)
        e_event_kwh = power_kw * duration_h * rng.uniform(0.8, 1.2, size=n_events)
        n_int = max(1, round(duration_h / dt_h))  # spread each event over whole intervals
        for k in range(n_int):
            idx = start + k
            ok = idx < n
            np.add.at(out, idx[ok], e_event_kwh[ok] / (n_int * dt_h))
    return out


def load_profile_kw(times: pd.DatetimeIndex, params: LoadParams,
                    rng: np.random.Generator) -> np.ndarray:
    """Active power of one synthetic load.

    Parameters
    ----------
    times : pandas.DatetimeIndex
        Timezone-aware, regular step; local Martinique time is used for the shape.
    params : LoadParams
        Load parameters.
    rng : numpy.random.Generator
        Source of all randomness of this load.

    Returns
    -------
    numpy.ndarray
        Interval-mean active power, >= 0, shape ``(len(times),)``. [kW]
    """
    hour, weekend, dt_s = _local_hours(times)
    mean_kw = params.annual_kwh / 8760.0
    shift_h = rng.uniform(-0.5, 0.5)
    alpha = rng.uniform(0.7, 1.3)
    shape = 1.0 + alpha * (daily_template(hour - shift_h, weekend, params.profile) - 1.0)
    phi = float(np.exp(-dt_s / AR1_CORRELATION_TIME_S))
    noise = 1.0 + params.noise_percent / 100.0 * _ar1(len(times), phi, rng)
    smooth_kw = (1.0 - SPIKE_ENERGY_FRACTION) * mean_kw * shape * noise
    spikes_kw = _spikes_kw(shape, mean_kw, dt_s, rng) if len(times) else np.zeros(0)
    return np.maximum(smooth_kw, 0.0) + spikes_kw


def load_profiles_kw(times: pd.DatetimeIndex, params_list: list[LoadParams],
                     rng: np.random.Generator) -> np.ndarray:
    """Active power of several loads, each from its own stream spawned from ``rng``.

    Load ``i`` gets the same profile whatever the number of loads after it.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(times), len(params_list))``. [kW]
    """
    out = np.zeros((len(times), len(params_list)))
    for i, (params, child) in enumerate(zip(params_list, rng.spawn(len(params_list)), strict=True)):
        out[:, i] = load_profile_kw(times, params, child)
    return out


def reactive_power_kvar(p_kw, power_factor) -> np.ndarray:
    """Reactive power of a load at a lagging power factor.

    Parameters
    ----------
    p_kw : array_like
        Active power, positive = consumption. [kW]
    power_factor : array_like
        Power factor in (0, 1]. [-]

    Returns
    -------
    numpy.ndarray
        ``q = p * tan(acos(pf))``, positive (inductive) for consumption. [kvar]
    """
    pf = np.asarray(power_factor, dtype=float)
    if np.any((pf <= 0.0) | (pf > 1.0)):
        raise ValueError(f"power_factor={power_factor!r}: must be in (0, 1]")
    return np.asarray(p_kw, dtype=float) * np.tan(np.arccos(pf))
