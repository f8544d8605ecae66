"""Quantity strings in FlexMeasures' forms, converted to the twin's units.

FlexMeasures writes quantities as strings with units (``"25 kW"``, ``"12.1 kWh"``,
``"90%"``, ``"0.29 EUR/kWh"``), takes plain numbers where the unit is implied, and time
series as lists of ``{"start", "end" | "duration", "value"}``. Here every quantity is
converted to one unit per dimension: kW, kWh, a fraction (1 = 100 %), EUR/kWh.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from twin.timeparse import parse_duration_s

POWER_KW = {"W": 1e-3, "kW": 1.0, "MW": 1e3, "GW": 1e6}
ENERGY_KWH = {"Wh": 1e-3, "kWh": 1.0, "MWh": 1e3, "GWh": 1e6}
FRACTION = {"%": 0.01, "": 1.0}
CURRENCIES = ("EUR", "USD", "GBP", "KRW", "JPY", "CHF")

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"^\s*(?P<value>{_NUMBER})\s*(?P<unit>[^\d\s].*?)?\s*$")


class QuantityError(ValueError):
    """A quantity that cannot be read; the message names the accepted forms."""


@dataclass(frozen=True)
class Dimension:
    name: str  # "power", "energy", "fraction", "price"
    example: str

    def scale(self, unit: str) -> float | None:
        unit = unit.strip()
        if self.name == "power":
            return POWER_KW.get(unit)
        if self.name == "energy":
            return ENERGY_KWH.get(unit)
        if self.name == "fraction":
            return FRACTION.get(unit)
        if self.name in ("price", "power price"):  # "EUR/kWh", "EUR/MWh", "/MWh", "EUR/kW"
            m = re.fullmatch(r"(?P<cur>[A-Z]{3})?\s*/\s*(?P<per>\w+)", unit)
            if not m or (m["cur"] and m["cur"] not in CURRENCIES):
                return None
            per = (ENERGY_KWH if self.name == "price" else POWER_KW).get(m["per"])
            return None if per is None else 1.0 / per
        raise AssertionError(self.name)


POWER = Dimension("power", "'25 kW' or '0.025 MW'")
ENERGY = Dimension("energy", "'12.1 kWh' or '0.0121 MWh'")
FRACTION_DIM = Dimension("fraction", "'90%' or 0.9")
PRICE = Dimension("price", "'0.29 EUR/kWh' or '290 EUR/MWh'")
POWER_PRICE = Dimension("power price", "'10000 EUR/kW' or '1e7 EUR/MW'")


def with_article(noun: str) -> str:
    """``noun`` with its indefinite article: 'a power', 'an energy'."""
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def parse_quantity(value, dim: Dimension, field: str, default_unit: str | None) -> float:
    """One quantity in the twin's unit for ``dim``; plain numbers are in ``default_unit``
    (``None``: a plain number is refused, the unit must be written)."""
    if isinstance(value, str):  # re-plans send the same texts again: read them once
        try:
            return _text_quantity(value, dim, default_unit)
        except QuantityError:
            pass  # read again below, for the message naming the field
    return _parse_quantity(value, dim, field, default_unit)


@lru_cache(maxsize=16384)
def _text_quantity(value: str, dim: Dimension, default_unit: str | None) -> float:
    return _parse_quantity(value, dim, "", default_unit)


def _parse_quantity(value, dim: Dimension, field: str, default_unit: str | None) -> float:
    if isinstance(value, bool):
        raise QuantityError(f"{field}: expected {with_article(dim.name)} such as {dim.example}, "
                            f"got {value!r}")
    if isinstance(value, int | float):
        if default_unit is None:
            raise QuantityError(f"{field}: write the {dim.name} with its unit, e.g. "
                                f"{dim.example}; got the plain number {value!r}")
        number, unit = float(value), default_unit
    elif isinstance(value, str) and (m := _QUANTITY.match(value)):
        number, unit = float(m["value"]), (m["unit"] or default_unit)
        if unit is None:
            raise QuantityError(f"{field}: write the {dim.name} with its unit, e.g. "
                                f"{dim.example}; got {value!r}")
    else:
        raise QuantityError(f"{field}: expected {with_article(dim.name)} such as {dim.example}, "
                            f"got {value!r}")
    scale = dim.scale(unit)
    if scale is None:
        raise QuantityError(
            f"{field}: unit {unit!r} is not a {dim.name} unit; write e.g. {dim.example}"
        )
    return number * scale


def parse_series(items, dim: Dimension, field: str, default_unit: str | None) -> list[tuple]:
    """A FlexMeasures time series: ``[{"start", "end" | "duration", "value"}, ...]``.

    Returns ``(start, end, value)`` tuples with timezone-aware timestamps; ``end`` equals
    ``start`` for an instant (a datetime given as ``datetime`` without end or duration).
    """
    if not isinstance(items, list):
        raise QuantityError(f"{field}: expected a list of {{start, end or duration, value}}")
    return [_series_item(item, dim, f"{field}[{i}]", default_unit)
            for i, item in enumerate(items)]


def _series_item(item, dim: Dimension, where: str, default_unit: str | None) -> tuple:
    """One ``{"start" | "datetime", "end" | "duration", "value"}`` as (start, end, value)."""
    if not isinstance(item, dict):
        raise QuantityError(f"{where}: expected {{start, end or duration, value}}, got {item!r}")
    extra = set(item) - {"start", "end", "duration", "value", "datetime"}
    if extra:
        raise QuantityError(f"{where}: unknown key(s) {sorted(extra)}; "
                            "allowed: start, end, duration, value, datetime")
    if "value" not in item:
        raise QuantityError(f"{where}.value: is required")
    start_raw = item.get("start", item.get("datetime"))
    if start_raw is None:
        raise QuantityError(f"{where}.start: is required")
    start = parse_timestamp(start_raw, f"{where}.start")
    end = _series_item_end(item, start, where)
    if end < start:
        raise QuantityError(f"{where}: end {end} is before start {start}")
    return start, end, parse_quantity(item["value"], dim, f"{where}.value", default_unit)


def _series_item_end(item: dict, start: pd.Timestamp, where: str) -> pd.Timestamp:
    """The item's ``end``, or ``start + duration``, or ``start`` (an instant)."""
    if "end" in item and "duration" in item:
        raise QuantityError(f"{where}: give end or duration, not both")
    if "end" in item:
        return parse_timestamp(item["end"], f"{where}.end")
    if "duration" in item:
        try:
            return _plus(start, item["duration"])
        except ValueError as exc:
            raise QuantityError(f"{where}.duration: {exc}") from None
    return start


def parse_timestamp(value, field: str) -> pd.Timestamp:
    """A timezone-aware date-time from 1900 to 2200; ``field`` is named in the error."""
    try:
        ts = _timestamp(value) if isinstance(value, str) else pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):  # also pandas' OutOfBoundsDatetime
        raise QuantityError(f"{field}: not an ISO 8601 date-time from 1900 to 2200: "
                            f"{_shown(value)}") from None
    if ts is pd.NaT or not 1900 <= ts.year <= 2200:
        raise QuantityError(f"{field}: a date-time from 1900 to 2200, got {_shown(value)}")
    if ts.tzinfo is None:
        raise QuantityError(f"{field}: must be timezone-aware, got {_shown(value)}")
    return ts


def _shown(value) -> str:
    return repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."


# a re-planning strategy sends the same date-times and durations hour after hour
_timestamp = lru_cache(maxsize=8192)(pd.Timestamp)


def _plus(start: pd.Timestamp, duration) -> pd.Timestamp:
    """``start + duration`` (an ISO 8601 duration), cached for text durations: a
    re-plan's series repeat most of the last one's instants."""
    if isinstance(duration, str):  # equal instants in two time zones are equal keys
        return _cached_plus(start, start.tzinfo, duration)
    return start + _timedelta(duration)


@lru_cache(maxsize=8192)
def _cached_plus(start: pd.Timestamp, tz, duration: str) -> pd.Timestamp:
    return start + _cached_timedelta(duration)


def _timedelta(text) -> pd.Timedelta:
    """An ISO 8601 duration as a Timedelta (``ValueError`` naming the accepted form)."""
    return _cached_timedelta(text) if isinstance(text, str) else \
        pd.Timedelta(seconds=parse_duration_s(text))


@lru_cache(maxsize=1024)
def _cached_timedelta(text: str) -> pd.Timedelta:
    return pd.Timedelta(seconds=parse_duration_s(text))
