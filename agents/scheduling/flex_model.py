"""FlexMeasures' scheduling request: trigger body, flex-model and flex-context.

Reads the body FlexMeasures takes at ``POST /api/v3_0/assets/<id>/schedules/trigger``
(``start``, ``duration``, ``resolution``, ``flex-model`` as a list of entries each
naming a device, ``flex-context``) with FlexMeasures' field names and value forms:

- quantity strings with units: ``"25 kW"``, ``"12.1 kWh"``, ``"90%"``, ``"0.29 EUR/kWh"``,
  ``"10000 EUR/kW"``; plain numbers only where FlexMeasures takes them (efficiencies as
  fractions, SoC values in the entry's ``soc-unit``);
- time series as lists of ``{"start", "end" | "duration", "value"}`` (SoC constraints
  also as instants ``{"datetime", "value"}``);
- ``{"sensor": id}`` references, which only a FlexMeasures server can resolve.

Everything is converted to the twin's units (kW, kWh, fractions, EUR/kWh, EUR/kW);
sign convention: positive = consumption / charging. Twin extensions: a flex-model
entry may name a ``device`` instead of (or besides) a ``sensor``; ``inflexible-
consumption`` / ``inflexible-production`` items may be inline time series as well as
sensor references. An unknown or malformed field raises :class:`RequestError` naming
the field and the accepted form.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import pandas as pd

from agents.scheduling.quantities import (
    ENERGY,
    FRACTION_DIM,
    POWER,
    POWER_PRICE,
    PRICE,
    Dimension,
    QuantityError,
    _a,
    _timestamp,
    parse_quantity,
    parse_series,
)
from twin.timeparse import parse_duration_s


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

    @property
    def n_steps(self) -> int:
        return int((self.end - self.start) / self.resolution)

    @property
    def index(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, self.end, freq=self.resolution, inclusive="left")


# FlexMeasures fields that the twin reads: name -> (attribute, reader)
#: Most steps and devices in one request (bounds the optimisation's size).
MAX_STEPS = 50_000
MAX_DEVICES = 500

_DEVICE_FIELDS = {
    "soc-at-start": "soc_at_start_kwh", "soc-min": "soc_min_kwh", "soc-max": "soc_max_kwh",
    "soc-minima": "soc_minima", "soc-maxima": "soc_maxima", "soc-targets": "soc_targets",
    "power-capacity": "power_capacity_kw", "consumption-capacity": "consumption_capacity_kw",
    "production-capacity": "production_capacity_kw",
    "charging-efficiency": "charging_efficiency",
    "discharging-efficiency": "discharging_efficiency",
    "roundtrip-efficiency": "roundtrip_efficiency", "storage-efficiency": "storage_efficiency",
    "soc-gain": "soc_gain_kw", "soc-usage": "soc_usage_kw",
    "prefer-charging-sooner": "prefer_charging_sooner",
    "prefer-curtailing-later": "prefer_curtailing_later",
}
_CONTEXT_FIELDS = {
    "consumption-price": ("consumption_price", PRICE),
    "production-price": ("production_price", PRICE),
    "site-power-capacity": ("site_power_capacity_kw", POWER),
    "site-consumption-capacity": ("site_consumption_capacity_kw", POWER),
    "site-production-capacity": ("site_production_capacity_kw", POWER),
    "site-consumption-breach-price": ("site_consumption_breach_price", POWER_PRICE),
    "site-production-breach-price": ("site_production_breach_price", POWER_PRICE),
    "site-peak-consumption": ("site_peak_consumption_kw", POWER),
    "site-peak-consumption-price": ("site_peak_consumption_price", POWER_PRICE),
    "site-peak-production": ("site_peak_production_kw", POWER),
    "site-peak-production-price": ("site_peak_production_price", POWER_PRICE),
    "consumption-breach-price": ("consumption_breach_price", POWER_PRICE),
    "production-breach-price": ("production_breach_price", POWER_PRICE),
    "soc-minima-breach-price": ("soc_minima_breach_price", PRICE),
    "soc-maxima-breach-price": ("soc_maxima_breach_price", PRICE),
}
_CONTEXT_FLAGS = {
    "relax-constraints": "relax_constraints", "relax-soc-constraints": "relax_soc_constraints",
    "relax-capacity-constraints": "relax_capacity_constraints",
    "relax-site-capacity-constraints": "relax_site_capacity_constraints",
}
# FlexMeasures fields the twin does not model (named in the error, not called unknown)
_UNSUPPORTED = {
    "operation-modes", "group", "coupling", "coupling-coefficient", "commodity",
    "state-of-charge", "consumption", "production", "inflexible-consumption",
    "inflexible-production", "commitments", "commodities", "aggregate-consumption",
    "aggregate-production", "aggregate-power", "inflexible-device-sensors",
    "consumption-price-sensor", "production-price-sensor",
}
_TOP_FIELDS = {"start", "duration", "resolution", "flex-model", "flex-context", "asset", "id",
               "prior", "sequential", "force-new-job-creation"}


def _unknown(key: str, allowed, where: str) -> RequestError:
    if key in _UNSUPPORTED:
        return RequestError(f"{where}{key}: a FlexMeasures field that the twin does not "
                            f"model; fields read here: {', '.join(sorted(allowed))}")
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return RequestError(f"{where}{key}: unknown field{hint} (accepted: "
                        f"{', '.join(sorted(allowed))})")


def _flag(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise RequestError(f"{where}: expected true or false, got {value!r}")
    return value


def _varq(value, dim: Dimension, where: str, default_unit: str | None = None) -> VarQ:
    """A quantity, a time series of quantities, or a sensor reference."""
    if isinstance(value, dict):
        if set(value) - {"sensor", "source-types", "exclude-source-types", "sources", "default"}:
            raise RequestError(f"{where}: expected {_a(dim.name)} such as {dim.example}, a list "
                               "of {start, end or duration, value}, or {\"sensor\": id}")
        if not isinstance(value.get("sensor"), int) or isinstance(value.get("sensor"), bool):
            raise RequestError(f"{where}.sensor: expected a sensor id (an integer), "
                               f"got {value.get('sensor')!r}")
        return SensorRef(value["sensor"], where)
    if isinstance(value, list):
        return parse_series(value, dim, where, default_unit)
    return parse_quantity(value, dim, where, default_unit)


def parse_request(body) -> ScheduleRequest:
    """Read a trigger body; raises :class:`RequestError` (also for quantity errors)."""
    try:
        return _parse_request(body)
    except QuantityError as exc:
        raise RequestError(str(exc)) from None


def _parse_request(body) -> ScheduleRequest:
    if not isinstance(body, dict):
        raise RequestError("the request must be a JSON object with start, duration, "
                           "flex-model and flex-context")
    for key in body:
        if key not in _TOP_FIELDS:
            raise _unknown(key, _TOP_FIELDS, "")
    if "start" not in body:
        raise RequestError("start: is required (an ISO 8601 date-time with its UTC offset, "
                           "e.g. '2026-06-01T00:00:00-04:00')")
    start = _timestamp(body["start"], "start")
    seconds = {}
    for which, default in (("duration", "PT24H"), ("resolution", "PT15M")):
        try:
            seconds[which] = parse_duration_s(body.get(which, default))
        except ValueError as exc:
            raise RequestError(f"{which}: {exc}") from None
    if seconds["duration"] // seconds["resolution"] > MAX_STEPS:
        raise RequestError(f"duration / resolution = {seconds['duration'] // seconds['resolution']:,}"
                           f" steps; at most {MAX_STEPS:,} (a leap year at 15 min is 35,136)")
    duration = pd.Timedelta(seconds=seconds["duration"])
    resolution = pd.Timedelta(seconds=seconds["resolution"])
    if duration % resolution != pd.Timedelta(0):
        raise RequestError(f"duration: {body.get('duration')} is not a whole number of "
                           f"resolution steps ({body.get('resolution', 'PT15M')})")
    if start.floor(resolution) != start:
        raise RequestError(f"start: {body['start']} is not on a {body.get('resolution', 'PT15M')} "
                           "tick")
    entries = body.get("flex-model", [])
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise RequestError("flex-model: expected a list of entries, each naming a device "
                           "(\"device\": name or \"sensor\": id) with its flex-model fields")
    if len(entries) > MAX_DEVICES:
        raise RequestError(f"flex-model: {len(entries):,} devices; at most {MAX_DEVICES:,}")
    devices = [_parse_device(e, i) for i, e in enumerate(entries)]
    names = [d.name for d in devices]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RequestError(f"flex-model: device {dupes[0]!r} occurs more than once")
    context = _parse_context(body.get("flex-context", {}))
    asset = body.get("asset", body.get("id"))
    if asset is not None and (not isinstance(asset, int) or isinstance(asset, bool)):
        raise RequestError(f"asset: expected an asset id (an integer), got {asset!r}")
    end = start + duration
    for d in devices:  # FlexMeasures extends the window to the latest soc-target
        if isinstance(d.soc_targets, list) and d.soc_targets:
            latest = max(e for _, e, _ in d.soc_targets).ceil(resolution)
            end = max(end, latest)
    if (end - start) / resolution > MAX_STEPS:
        raise RequestError(f"flex-model: a soc-target at {end} stretches the schedule to "
                           f"{int((end - start) / resolution):,} steps; at most {MAX_STEPS:,}")
    return ScheduleRequest(start, end, resolution, devices, context, asset, body)


def _parse_device(entry, i: int) -> DeviceModel:
    where = f"flex-model[{i}]."
    if not isinstance(entry, dict):
        raise RequestError(f"flex-model[{i}]: expected an object, got {entry!r}")
    sensor = entry.get("sensor")
    if sensor is not None and (not isinstance(sensor, int) or isinstance(sensor, bool)):
        raise RequestError(f"{where}sensor: expected a sensor id (an integer), got {sensor!r}")
    name = entry.get("device", None if sensor is None else f"sensor {sensor}")
    if not isinstance(name, str) or not name:
        raise RequestError(f"flex-model[{i}]: name the device with \"device\": name or "
                           "\"sensor\": id")
    allowed = set(_DEVICE_FIELDS) | {"device", "sensor", "soc-unit"}
    for key in entry:
        if key not in allowed:
            raise _unknown(key, allowed, where)
    soc_unit = entry.get("soc-unit")
    if soc_unit not in (None, "kWh", "MWh"):
        raise RequestError(f"{where}soc-unit: expected 'kWh' or 'MWh', got {soc_unit!r}")
    d = DeviceModel(name=name, sensor=sensor)
    soc_max_raw = entry.get("soc-max")
    capacity = None  # for SoC values in %: the entry's soc-max in energy units
    if soc_max_raw is not None and not (isinstance(soc_max_raw, str) and "%" in soc_max_raw):
        capacity = parse_quantity(soc_max_raw, ENERGY, where + "soc-max", soc_unit)

    def soc_value(value, w):
        if isinstance(value, str) and value.strip().endswith("%"):
            if capacity is None:
                raise RequestError(f"{w}: a SoC in % needs the entry's soc-max in energy "
                                   "units, e.g. \"soc-max\": \"75 kWh\"")
            return parse_quantity(value, FRACTION_DIM, w, None) * capacity
        return parse_quantity(value, ENERGY, w, soc_unit)

    for key, value in entry.items():
        w = where + key
        attr = _DEVICE_FIELDS.get(key)
        if attr is None:
            continue
        if key in ("soc-at-start", "soc-min", "soc-max"):
            v = soc_value(value, w)
            if key == "soc-min" and v < 0:
                raise RequestError(f"{w}: must be >= 0 kWh, got {value!r}")
        elif key in ("soc-minima", "soc-maxima", "soc-targets"):
            v = _soc_series(value, w, soc_value)
        elif key in ("power-capacity", "consumption-capacity", "production-capacity"):
            v = _varq(value, POWER, w)
        elif key in ("charging-efficiency", "discharging-efficiency", "storage-efficiency"):
            v = _varq(value, FRACTION_DIM, w, "")
        elif key == "roundtrip-efficiency":
            v = parse_quantity(value, FRACTION_DIM, w, "")
            if not 0 < v <= 1:
                raise RequestError(f"{w}: must be in (0, 100%], got {value!r}")
        elif key in ("soc-gain", "soc-usage"):
            if not isinstance(value, list) or not value:
                raise RequestError(f"{w}: expected a list of powers, e.g. [\"1 kW\"]")
            v = [_varq(c, POWER, f"{w}[{k}]") for k, c in enumerate(value)]
        else:
            v = _flag(value, w)
        setattr(d, attr, v)
    return d


def _soc_series(value, where: str, soc_value) -> VarQ:
    """SoC constraints: one value, a sensor, or [{datetime | start, end | duration, value}]."""
    if isinstance(value, dict):
        return _varq(value, ENERGY, where)
    if not isinstance(value, list):
        return soc_value(value, where)
    out = []
    for k, item in enumerate(value):
        w = f"{where}[{k}]"
        if not isinstance(item, dict) or "value" not in item:
            raise RequestError(f"{w}: expected {{datetime, value}} or "
                               "{start, end or duration, value}")
        plain = {key: v for key, v in item.items() if key != "value"}
        (start, end, _), = parse_series([{**plain, "value": 0}], ENERGY, where, "kWh")
        out.append((start, end, soc_value(item["value"], f"{w}.value")))
    return out


def _parse_context(ctx) -> FlexContext:
    if not isinstance(ctx, dict):
        raise RequestError("flex-context: expected an object of flex-context fields")
    allowed = set(_CONTEXT_FIELDS) | set(_CONTEXT_FLAGS) | {"inflexible-consumption",
                                                           "inflexible-production"}
    c = FlexContext()
    for key, value in ctx.items():
        w = f"flex-context.{key}"
        if key in _CONTEXT_FIELDS:
            attr, dim = _CONTEXT_FIELDS[key]
            v = _varq(value, dim, w)
            if dim is not PRICE and isinstance(v, float) and v < 0:
                raise RequestError(f"{w}: must be >= 0, got {value!r}")
            setattr(c, attr, v)
        elif key in _CONTEXT_FLAGS:
            setattr(c, _CONTEXT_FLAGS[key], _flag(value, w))
        elif key in ("inflexible-consumption", "inflexible-production"):
            if not isinstance(value, list):
                raise RequestError(f"{w}: expected a list of devices, each a time series "
                                   "[{start, end or duration, value}] or {\"sensor\": id}")
            items = [_varq(item, POWER, f"{w}[{k}]") for k, item in enumerate(value)]
            setattr(c, key.replace("-", "_"), items)
        else:
            raise _unknown(key, allowed, "flex-context.")
    if c.consumption_price is None:
        raise RequestError("flex-context.consumption-price: is required, e.g. "
                           "\"0.29 EUR/kWh\" or a time series of prices")
    return c
