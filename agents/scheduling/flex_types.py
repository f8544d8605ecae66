"""FlexMeasures' scheduling request as data: the twin's types and the readers every field uses.

A request read by :func:`agents.scheduling.flex_model.parse_request` is a
:class:`ScheduleRequest` of :class:`DeviceModel` entries and a :class:`FlexContext`, in kW,
kWh, fractions, EUR/kWh (energy prices) and EUR/kW (power prices); sign convention:
positive = consumption / charging.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from agents.scheduling.quantities import Dimension, parse_quantity, parse_series, with_article


class RequestError(ValueError):
    """A request that cannot be read; the message names the field and the accepted form."""


@dataclass(frozen=True)
class SensorRef:
    """A ``{"sensor": id}`` reference (resolved only by a FlexMeasures server)."""

    sensor: int
    where: str


# A variable quantity: one value, a time series of (start, end, value), or a sensor.
VarQ = float | list | SensorRef


@dataclass
class DeviceModel:
    """One flex-model entry, in kW / kWh / fractions."""

    name: str
    sensor: int | None = None
    soc_at_start_kwh: float | None = None
    soc_min_kwh: float | None = None
    soc_max_kwh: float | None = None
    soc_minima: VarQ | None = None  # kWh at instants
    soc_maxima: VarQ | None = None
    soc_targets: VarQ | None = None
    power_capacity_kw: VarQ | None = None
    consumption_capacity_kw: VarQ | None = None
    production_capacity_kw: VarQ | None = None
    charging_efficiency: VarQ | None = None
    discharging_efficiency: VarQ | None = None
    roundtrip_efficiency: float | None = None
    storage_efficiency: VarQ | None = None  # per step of the schedule
    soc_gain_kw: list = field(default_factory=list)
    soc_usage_kw: list = field(default_factory=list)
    prefer_charging_sooner: bool = True
    prefer_curtailing_later: bool = True

    @property
    def has_absolute_soc(self) -> bool:
        return any(v is not None for v in (self.soc_min_kwh, self.soc_max_kwh, self.soc_minima,
                                           self.soc_maxima, self.soc_targets))


@dataclass
class FlexContext:
    """The flex-context, in kW and EUR/kWh (energy prices) or EUR/kW (power prices)."""

    consumption_price: VarQ | None = None
    production_price: VarQ | None = None
    site_power_capacity_kw: VarQ | None = None
    site_consumption_capacity_kw: VarQ | None = None
    site_production_capacity_kw: VarQ | None = None
    site_consumption_breach_price: VarQ | None = None  # EUR/kW
    site_production_breach_price: VarQ | None = None
    site_peak_consumption_kw: VarQ = 0.0
    site_peak_consumption_price: VarQ | None = None  # EUR/kW
    site_peak_production_kw: VarQ = 0.0
    site_peak_production_price: VarQ | None = None
    consumption_breach_price: VarQ | None = None  # device capacities, EUR/kW
    production_breach_price: VarQ | None = None
    soc_minima_breach_price: VarQ | None = None  # EUR/kWh
    soc_maxima_breach_price: VarQ | None = None
    relax_constraints: bool = True
    relax_soc_constraints: bool | None = None
    relax_capacity_constraints: bool = False
    relax_site_capacity_constraints: bool | None = None
    inflexible_consumption: list = field(default_factory=list)  # VarQ items [kW]
    inflexible_production: list = field(default_factory=list)


@dataclass
class ScheduleRequest:
    start: pd.Timestamp
    end: pd.Timestamp
    resolution: pd.Timedelta
    devices: list[DeviceModel]
    context: FlexContext
    asset: int | None = None
    raw: dict = field(default_factory=dict)

    @cached_property
    def n_steps(self) -> int:
        return int((self.end - self.start) / self.resolution)

    @cached_property
    def index(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, self.end, freq=self.resolution, inclusive="left")


# FlexMeasures fields the twin does not model (named in the error, not called unknown)
_UNSUPPORTED = {
    "operation-modes", "group", "coupling", "coupling-coefficient", "commodity",
    "state-of-charge", "consumption", "production", "inflexible-consumption",
    "inflexible-production", "commitments", "commodities", "aggregate-consumption",
    "aggregate-production", "aggregate-power", "inflexible-device-sensors",
    "consumption-price-sensor", "production-price-sensor",
}


def unknown_field(key: str, allowed, where: str) -> RequestError:
    """The error for an unknown ``key``: a FlexMeasures field not modelled, or a typo."""
    if key in _UNSUPPORTED:
        return RequestError(f"{where}{key}: a FlexMeasures field that the twin does not "
                            f"model; fields read here: {', '.join(sorted(allowed))}")
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return RequestError(f"{where}{key}: unknown field{hint} (accepted: "
                        f"{', '.join(sorted(allowed))})")


def read_flag(value, where: str) -> bool:
    """A JSON true or false."""
    if not isinstance(value, bool):
        raise RequestError(f"{where}: expected true or false, got {value!r}")
    return value


def read_varq(value, dim: Dimension, where: str, default_unit: str | None = None) -> VarQ:
    """A quantity, a time series of quantities, or a sensor reference."""
    if isinstance(value, dict):
        if set(value) - {"sensor", "source-types", "exclude-source-types", "sources", "default"}:
            raise RequestError(f"{where}: expected {with_article(dim.name)} such as "
                               f"{dim.example}, a list of {{start, end or duration, value}}, "
                               "or {\"sensor\": id}")
        if not isinstance(value.get("sensor"), int) or isinstance(value.get("sensor"), bool):
            raise RequestError(f"{where}.sensor: expected a sensor id (an integer), "
                               f"got {value.get('sensor')!r}")
        return SensorRef(value["sensor"], where)
    if isinstance(value, list):
        return parse_series(value, dim, where, default_unit)
    return parse_quantity(value, dim, where, default_unit)

