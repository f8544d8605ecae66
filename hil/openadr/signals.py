"""Pure translation of received OpenADR 2.0b events into scheduler input.

No protocol I/O here: :func:`constraints_from_event` takes the event dict openleadr's client
hands to ``on_event`` and returns one :class:`SiteConstraint` per signal interval.
Sign convention: positive = consumption / import; ``site_limit_kw`` caps the site's import.

Signal mapping:

- ``SIMPLE`` (type ``level``), levels 0-3: a site import limit of ``levels[level]`` percent
  of the site capacity. The default table :data:`DEFAULT_LEVELS_PERCENT` is 1: 75 %,
  2: 50 %, 3: 25 %; level 0 (normal operation) sets no limit.
- ``LOAD_DISPATCH`` (type ``setpoint``): the site import limit. The EMIX item base must be
  ``powerReal`` in W with an SI scale code (``k`` -> kW); without an item base the value is
  taken as kW.
- ``ELECTRICITY_PRICE`` (type ``price``): an energy price. The item base must be
  ``currencyPerKWh`` in EUR with an SI scale code (``none`` -> EUR/kWh, ``c`` -> ct/kWh
  scaled to EUR/kWh); without an item base the value is taken as EUR/kWh. Other currencies
  are refused (no exchange rate in the twin).

Anything else (unknown signal name, another signal type, a missing value, an out-of-table
level, an open-ended interval) raises :class:`MalformedEvent` naming what was wrong.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hil.openadr.events import SI_SCALE_EXPONENTS

DEFAULT_LEVELS_PERCENT: dict[int, float | None] = {0: None, 1: 75.0, 2: 50.0, 3: 25.0}

PRICE_SIGNALS = ("ELECTRICITY_PRICE",)
LIMIT_SIGNALS = ("SIMPLE", "LOAD_DISPATCH")


class MalformedEvent(ValueError):
    """An event the VEN cannot turn into a constraint."""


@dataclass(frozen=True)
class SiteConstraint:
    """Scheduler input from one interval of one event signal.

    Attributes
    ----------
    start_utc, end_utc : datetime
        Window of the interval, timezone-aware [UTC]; active for start <= t < end.
    event_id : str
        The OpenADR event id.
    signal : str
        The signal name (SIMPLE, LOAD_DISPATCH, ELECTRICITY_PRICE).
    site_limit_kw : float or None
        Cap on the site's import [kW] (positive = import); None: no limit.
    price_eur_per_kwh : float or None
        Energy price [EUR/kWh].
    level : int or None
        The SIMPLE level (0-3).
    opted_in : bool
        Whether the VEN opted in; opted-out limits are kept for the record but not
        applied by :meth:`VenBridge.site_limit_kw_at`.
    """

    start_utc: dt.datetime
    end_utc: dt.datetime
    event_id: str
    signal: str
    site_limit_kw: float | None = None
    price_eur_per_kwh: float | None = None
    level: int | None = None
    opted_in: bool = True

    def active_at(self, t_utc: dt.datetime) -> bool:
        return self.start_utc <= t_utc < self.end_utc


def can_comply(limit_kw: float | None, inflexible_kw: float, flexible_kw: float) -> bool:
    """Whether the site can keep its import under ``limit_kw``.

    The site complies when ``inflexible_kw - flexible_kw <= limit_kw``: its inflexible
    power, less the reduction its flexible assets can make, fits under the limit.

    Parameters
    ----------
    limit_kw : float or None
        Site import limit [kW]; None means no limit (always complies).
    inflexible_kw : float
        Site power that cannot be shifted (positive = import). [kW]
    flexible_kw : float
        Reduction of import the flexible assets can make now (>= 0). [kW]

    Returns
    -------
    bool
    """
    if flexible_kw < 0 or not math.isfinite(flexible_kw):
        raise ValueError(f"flexible_kw must be a finite reduction >= 0 kW, got {flexible_kw!r}")
    if not math.isfinite(inflexible_kw):
        raise ValueError(f"inflexible_kw must be finite, got {inflexible_kw!r}")
    if limit_kw is None:
        return True
    return inflexible_kw - flexible_kw <= limit_kw


def check_levels(levels: Mapping[int, float | None]) -> dict[int, float | None]:
    """Validate a SIMPLE level table: keys among 0-3, percentages in [0, 100] or None."""
    out: dict[int, float | None] = {}
    for level, pct in levels.items():
        if level not in (0, 1, 2, 3):
            raise ValueError(f"levels: key {level!r} is not a SIMPLE level; allowed 0, 1, 2, 3")
        if pct is not None and not 0.0 <= pct <= 100.0:
            raise ValueError(f"levels[{level}]: {pct!r} is not a percentage in [0, 100] "
                             "of the site capacity (or None for no limit)")
        out[level] = None if pct is None else float(pct)
    return out


def _show(obj: Any) -> str:
    """A short repr, also of an int too long to print (repr raises ValueError)."""
    try:
        return repr(obj)[:40]
    except ValueError:
        return f"<{type(obj).__name__} too large to print>"


def _mapping(obj: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise MalformedEvent(f"{what}: {_show(obj)} is a {type(obj).__name__}, not a mapping")
    return obj


def _items(obj: Any, what: str) -> list[Mapping[str, Any]]:
    """A non-empty list of mappings, else MalformedEvent naming ``what``."""
    if not isinstance(obj, list | tuple) or not obj:
        raise MalformedEvent(f"{what}: {_show(obj)} is not a non-empty list")
    return [_mapping(x, f"{what}[{i}]") for i, x in enumerate(obj)]


def _finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond a double
        return False


def _scaled(value: float, measurement: Mapping[str, Any] | None, *, base: str, unit: str,
            target_exp: int, what: str) -> float:
    """``value`` converted from the item base's SI scale to 10**target_exp of ``unit``."""
    if not measurement:
        return value
    measurement = _mapping(measurement, f"{what}: measurement")
    name, got_unit = measurement.get("name"), measurement.get("unit")
    if name != base or got_unit != unit:
        raise MalformedEvent(f"{what}: item base {_show(name)} in {_show(got_unit)} is not supported; "
                             f"allowed is {base!r} in {unit!r}")
    scale = measurement.get("scale") or "none"
    if not isinstance(scale, str) or scale not in SI_SCALE_EXPONENTS:
        raise MalformedEvent(f"{what}: SI scale code {_show(scale)} is not one of "
                             f"{', '.join(SI_SCALE_EXPONENTS)}")
    scaled = value * 10.0 ** (SI_SCALE_EXPONENTS[scale] - target_exp)
    if not math.isfinite(scaled):
        raise MalformedEvent(f"{what}: {value:g} with scale {scale!r} is not a finite number")
    return scaled


def _windows(signal: Mapping[str, Any], period: Mapping[str, Any] | None, event_id: str):
    """(start, end, value) per interval; an interval without dtstart follows the previous
    one (OpenADR's sequential intervals from the active period's start)."""
    intervals = _items(signal.get("intervals"),
                       f"event {event_id}: signal {_show(signal.get('signal_name'))} intervals")
    cursor = _mapping(period or {}, f"event {event_id}: active_period").get("dtstart")
    out = []
    for i, iv in enumerate(intervals):
        start = iv.get("dtstart") or cursor
        duration = iv.get("duration")
        value = iv.get("signal_payload")
        where = f"event {event_id}: interval {i}"
        if not isinstance(start, dt.datetime) or start.tzinfo is None:
            raise MalformedEvent(f"{where}: no timezone-aware start (got {_show(start)})")
        if not isinstance(duration, dt.timedelta) or duration <= dt.timedelta(0):
            raise MalformedEvent(f"{where}: duration {_show(duration)} must be > 0 "
                                 "(open-ended intervals are not supported)")
        if not _finite(value):
            raise MalformedEvent(f"{where}: signal payload {_show(value)} is not a finite number")
        try:
            out.append((start.astimezone(dt.UTC), (start + duration).astimezone(dt.UTC),
                        float(value)))
        except OverflowError:
            raise MalformedEvent(f"{where}: {start.isoformat()} + {duration} is outside the "
                                 "years 1-9999") from None
        cursor = start + duration
    return out


def constraints_from_event(event: Mapping[str, Any], site_capacity_kw: float,
                           levels: Mapping[int, float | None] = DEFAULT_LEVELS_PERCENT,
                           ) -> list[SiteConstraint]:
    """Translate one event (openleadr's parsed dict) into constraints, one per interval.

    Parameters
    ----------
    event : mapping
        ``event_descriptor``, ``active_period``, ``event_signals`` as openleadr parses them.
    site_capacity_kw : float
        Site import capacity the SIMPLE percentages apply to. [kW]
    levels : mapping
        SIMPLE level -> percent of ``site_capacity_kw`` (None: no limit).

    Returns
    -------
    list of SiteConstraint

    Raises
    ------
    MalformedEvent
        When a signal is unknown or a value is missing or out of range.
    """
    event = _mapping(event, "event")
    event_id, signals = _event_signals(event)
    out: list[SiteConstraint] = []
    for signal in _items(signals, f"event {event_id}: event_signals"):
        name = signal.get("signal_name")
        what = f"event {event_id}: signal {name[:40] if isinstance(name, str) else _show(name)}"
        windows = _windows(signal, event.get("active_period"), event_id)
        out.extend(_signal_constraints(signal, windows, event_id, what, site_capacity_kw,
                                       levels))
    return out


def _event_signals(event: Mapping[str, Any]) -> tuple[str, Any]:
    """The event's id and its list of signals; MalformedEvent when either is missing."""
    try:
        event_id = _show(event["event_descriptor"]["event_id"]).strip("'")
    except (KeyError, TypeError):
        raise MalformedEvent("event without event_descriptor.event_id") from None
    signals = event.get("event_signals")
    if isinstance(signals, Mapping):  # openleadr sometimes nests the list once more
        signals = signals.get("event_signals")
    if not signals:
        raise MalformedEvent(f"event {event_id}: no event signals")
    return event_id, signals


def _signal_constraints(signal: Mapping[str, Any],
                        windows: list[tuple[dt.datetime, dt.datetime, float]], event_id: str,
                        what: str, site_capacity_kw: float,
                        levels: Mapping[int, float | None]) -> list[SiteConstraint]:
    """One constraint per window of one signal: a SIMPLE level's share of
    ``site_capacity_kw`` [kW], a LOAD_DISPATCH setpoint [kW] or an ELECTRICITY_PRICE
    [EUR/kWh]; MalformedEvent for any other signal."""
    name, stype = signal.get("signal_name"), signal.get("signal_type")
    measurement = signal.get("measurement")
    if name == "SIMPLE" and stype == "level":
        return [_level_constraint(start, end, value, event_id, what, site_capacity_kw, levels)
                for start, end, value in windows]
    if name == "LOAD_DISPATCH" and stype == "setpoint":
        return [SiteConstraint(start, end, event_id, name,
                               site_limit_kw=_scaled(value, measurement, base="powerReal",
                                                     unit="W", target_exp=3, what=what))
                for start, end, value in windows]
    if name == "ELECTRICITY_PRICE" and stype == "price":
        return [SiteConstraint(start, end, event_id, name,
                               price_eur_per_kwh=_scaled(value, measurement,
                                                         base="currencyPerKWh", unit="EUR",
                                                         target_exp=0, what=what))
                for start, end, value in windows]
    raise MalformedEvent(f"{what} of type {_show(stype)} is not supported; allowed are "
                         "SIMPLE/level, LOAD_DISPATCH/setpoint, ELECTRICITY_PRICE/price")


def _level_constraint(start: dt.datetime, end: dt.datetime, value: float, event_id: str,
                      what: str, site_capacity_kw: float,
                      levels: Mapping[int, float | None]) -> SiteConstraint:
    """The site limit of one SIMPLE level: ``levels[value]`` percent of
    ``site_capacity_kw`` [kW], None for no limit."""
    if value not in (0, 1, 2, 3):
        raise MalformedEvent(f"{what}: level {value:g} is not one of 0, 1, 2, 3")
    pct = levels.get(int(value))
    limit = None if pct is None else site_capacity_kw * pct / 100.0
    return SiteConstraint(start, end, event_id, "SIMPLE", site_limit_kw=limit,
                          level=int(value))


def tightest_limit_kw(constraints: list[SiteConstraint], t_utc: dt.datetime) -> float | None:
    """The smallest opted-in site limit active at ``t_utc`` [kW], or None."""
    limits = [c.site_limit_kw for c in constraints
              if c.opted_in and c.site_limit_kw is not None and c.active_at(t_utc)]
    return min(limits) if limits else None


def price_at(constraints: list[SiteConstraint], t_utc: dt.datetime) -> float | None:
    """The price active at ``t_utc`` [EUR/kWh]; the latest-starting one when several."""
    prices = [c for c in constraints if c.price_eur_per_kwh is not None and c.active_at(t_utc)]
    if not prices:
        return None
    return max(prices, key=lambda c: c.start_utc).price_eur_per_kwh
