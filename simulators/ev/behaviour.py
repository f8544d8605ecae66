"""EV and charger parameters, and the driving behaviour that yields site sessions.

Sign convention: positive = consumption / charging / import. A trip's energy
``trip_kwh`` is energy taken out of the battery while away (positive number).

A trip here is one stay on site: the EV arrives at ``arrival_s``, leaves at
``departure_s`` (seconds since the fleet's start) and, on arrival, has used
``trip_kwh`` of stored energy driving since it last left.

Patterns (local time, America/Martinique):

- ``"home"``: arrives at 18:00 +/- 1.5 h, leaves the next morning at 07:00 +/- 1 h,
  every day.
- ``"workplace"``: arrives at 08:00 +/- 1 h, leaves at 17:00 +/- 1 h on weekdays;
  on Saturday and Sunday a session happens with probability 0.2.

Deviations are normal, truncated at 3 standard deviations so that sessions of
one EV never overlap. Daily driving distance is lognormal with the EV's mean
``daily_km_mean`` and log-space standard deviation :data:`DAILY_KM_SIGMA`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

S_PER_H = 3600.0
S_PER_DAY = 86400.0
DAILY_KM_SIGMA = 0.5
"""Log-space standard deviation of the daily driving distance. [-]"""
TRUNCATE_SD = 3.0


@dataclass(frozen=True)
class EvParams:
    """Parameters of one electric vehicle.

    Attributes
    ----------
    capacity_kwh : float
        Usable battery capacity. [kWh]
    p_max_kw : float
        Maximum AC charge (and, with V2G, discharge) power of the on-board side. [kW]
    v2g : bool
        Whether the EV may discharge to the grid.
    pattern : str
        ``"home"`` or ``"workplace"``.
    kwh_per_km : float
        Driving consumption. [kWh/km]
    daily_km_mean : float
        Mean daily driving distance. [km]
    soc_min_percent, soc_max_percent : float
        State-of-charge window kept by the charger. [%]
    soc_target_percent : float
        SoC the driver wants at departure; below it the shortfall is unmet energy. [%]
    eta_charge, eta_discharge : float
        One-way efficiencies: stored change = p*eta charging, p/eta discharging. [-]
    soc_initial_percent : float
        SoC at the fleet's start. [%]
    """

    capacity_kwh: float = 75.0
    p_max_kw: float = 22.0
    v2g: bool = True
    pattern: str = "home"
    kwh_per_km: float = 0.17
    daily_km_mean: float = 35.0
    soc_min_percent: float = 10.0
    soc_max_percent: float = 100.0
    soc_target_percent: float = 90.0
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    soc_initial_percent: float = 60.0


@dataclass(frozen=True)
class ChargerParams:
    """Parameters of one charger (EVSE).

    Attributes
    ----------
    p_max_kw : float
        Maximum AC power. [kW]
    v2g : bool
        Whether the charger can discharge (bidirectional).
    location : str
        ``"home"`` or ``"workplace"``: serves EVs of that pattern.
    """

    p_max_kw: float = 22.0
    v2g: bool = True
    location: str = "home"


class Trip(NamedTuple):
    """One stay on site of one EV (a plain tuple works the same)."""

    ev: int
    arrival_s: float
    departure_s: float
    trip_kwh: float


@dataclass(frozen=True)
class Pattern:
    """Timing of one usage pattern, in local hours; departure on day + ``departure_day``."""

    arrival_h: float
    arrival_sd_h: float
    departure_h: float
    departure_sd_h: float
    departure_day: int
    p_weekday: float
    p_weekend: float


PATTERNS: dict[str, Pattern] = {
    "home": Pattern(18.0, 1.5, 7.0, 1.0, 1, 1.0, 1.0),
    "workplace": Pattern(8.0, 1.0, 17.0, 1.0, 0, 1.0, 0.2),
}
LOCATIONS = tuple(PATTERNS)


def daily_km(rng: np.random.Generator, mean_km: float, size: int) -> np.ndarray:
    """Draw daily driving distances, lognormal with the given mean.

    Parameters
    ----------
    rng : numpy.random.Generator
    mean_km : float
        Mean of the distribution. [km]
    size : int

    Returns
    -------
    numpy.ndarray
        Distances. [km]
    """
    mu = math.log(mean_km) - DAILY_KM_SIGMA**2 / 2.0
    return rng.lognormal(mu, DAILY_KM_SIGMA, size)


def _truncnorm(rng: np.random.Generator, size: int) -> np.ndarray:
    return np.clip(rng.standard_normal(size), -TRUNCATE_SD, TRUNCATE_SD)


def draw_trips(
    evs: list[EvParams], start: pd.Timestamp, horizon_s: float, rng: np.random.Generator
) -> list[Trip]:
    """Draw every EV's site sessions that start before ``horizon_s``.

    Sessions drawn for the day before ``start`` that are still running at the
    start are kept with ``arrival_s = 0`` and ``trip_kwh = 0``: the EV begins
    on site with its initial SoC.

    Parameters
    ----------
    evs : list of EvParams
    start : pandas.Timestamp
        Start of the fleet's time axis, timezone-aware (America/Martinique).
    horizon_s : float
        Length of the horizon. [s]
    rng : numpy.random.Generator
        Source of all randomness; the same number of draws is taken per EV and
        day whatever the outcome, so one EV's draws never shift another's.

    Returns
    -------
    list of Trip
        Sorted by EV, then arrival.
    """
    midnight = start.normalize()
    n_days = int(math.ceil(horizon_s / S_PER_DAY)) + 2
    days = np.arange(-1, n_days - 1)
    day_starts = [midnight + pd.Timedelta(days=int(d)) for d in days]
    day_offset_s = np.array([(t - start).total_seconds() for t in day_starts])
    weekend = np.array([t.dayofweek >= 5 for t in day_starts])
    trips: list[Trip] = []
    for i, ev in enumerate(evs):
        pat = PATTERNS[ev.pattern]
        z_arr = _truncnorm(rng, days.size)
        z_dep = _truncnorm(rng, days.size)
        km = daily_km(rng, ev.daily_km_mean, days.size)
        u = rng.random(days.size)
        arr_s = day_offset_s + (pat.arrival_h + pat.arrival_sd_h * z_arr) * S_PER_H
        dep_s = (
            day_offset_s
            + pat.departure_day * S_PER_DAY
            + (pat.departure_h + pat.departure_sd_h * z_dep) * S_PER_H
        )
        happens = u < np.where(weekend, pat.p_weekend, pat.p_weekday)
        for k in range(days.size):
            if not happens[k] or dep_s[k] <= 0.0 or arr_s[k] >= horizon_s:
                continue
            if arr_s[k] < 0.0:
                trips.append(Trip(i, 0.0, float(dep_s[k]), 0.0))
            else:
                trips.append(Trip(i, float(arr_s[k]), float(dep_s[k]), float(km[k] * ev.kwh_per_km)))
    return trips


def validate_trips(trips: list, n_evs: int) -> list[Trip]:
    """Check injected trips and return them as sorted :class:`Trip` tuples.

    Raises
    ------
    ValueError
        If an EV index is out of range, a stay has ``departure_s <= arrival_s``,
        ``arrival_s < 0``, ``trip_kwh < 0``, or two stays of one EV overlap.
    """
    out = sorted((Trip(int(a), float(b), float(c), float(d)) for a, b, c, d in trips),
                 key=lambda t: (t.ev, t.arrival_s))
    for k, t in enumerate(out):
        if not 0 <= t.ev < n_evs:
            raise ValueError(f"trips[].ev={t.ev}: must be in [0, {n_evs - 1}]")
        if t.arrival_s < 0.0 or t.departure_s <= t.arrival_s or t.trip_kwh < 0.0:
            raise ValueError(
                f"trip {t}: need 0 <= arrival_s < departure_s and trip_kwh >= 0"
            )
        if k and out[k - 1].ev == t.ev and out[k - 1].departure_s > t.arrival_s:
            raise ValueError(f"trips of EV {t.ev} overlap: {out[k - 1]} and {t}")
    return out
