"""Flex-model entries and the flex-context, read field group by field group.

Each flex-model field has a reader for its group (SoC levels, SoC constraints, power
limits, efficiencies, SoC gain/usage, preferences); flex-context fields are energy prices,
site capacities, peaks, device breach prices, relax flags and inflexible devices. Values
come out in kW, kWh, fractions, EUR/kWh and EUR/kW; errors name the field and the
accepted form (:class:`RequestError`, or :class:`QuantityError` from a quantity).
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.scheduling.flex_types import (
    DeviceModel,
    FlexContext,
    RequestError,
    VarQ,
    read_flag,
    read_varq,
    unknown_field,
)
from agents.scheduling.quantities import (
    ENERGY,
    FRACTION_DIM,
    POWER,
    POWER_PRICE,
    PRICE,
    parse_quantity,
    parse_series,
)

# FlexMeasures fields that the twin reads: name -> attribute
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
# flex-context quantities by group: name -> (attribute, dimension)
_ENERGY_PRICE_FIELDS = {  # the net-energy commitment and the SoC breach prices [EUR/kWh]
    "consumption-price": ("consumption_price", PRICE),
    "production-price": ("production_price", PRICE),
    "soc-minima-breach-price": ("soc_minima_breach_price", PRICE),
    "soc-maxima-breach-price": ("soc_maxima_breach_price", PRICE),
}
_SITE_CAPACITY_FIELDS = {  # the site's connection [kW] and its breach prices [EUR/kW]
    "site-power-capacity": ("site_power_capacity_kw", POWER),
    "site-consumption-capacity": ("site_consumption_capacity_kw", POWER),
    "site-production-capacity": ("site_production_capacity_kw", POWER),
    "site-consumption-breach-price": ("site_consumption_breach_price", POWER_PRICE),
    "site-production-breach-price": ("site_production_breach_price", POWER_PRICE),
}
_PEAK_FIELDS = {  # peak commitments [kW] at [EUR/kW]
    "site-peak-consumption": ("site_peak_consumption_kw", POWER),
    "site-peak-consumption-price": ("site_peak_consumption_price", POWER_PRICE),
    "site-peak-production": ("site_peak_production_kw", POWER),
    "site-peak-production-price": ("site_peak_production_price", POWER_PRICE),
}
_DEVICE_BREACH_FIELDS = {  # the devices' capacities [EUR/kW]
    "consumption-breach-price": ("consumption_breach_price", POWER_PRICE),
    "production-breach-price": ("production_breach_price", POWER_PRICE),
}
_CONTEXT_FIELDS = {**_ENERGY_PRICE_FIELDS, **_SITE_CAPACITY_FIELDS, **_PEAK_FIELDS,
                   **_DEVICE_BREACH_FIELDS}
_CONTEXT_FLAGS = {
    "relax-constraints": "relax_constraints", "relax-soc-constraints": "relax_soc_constraints",
    "relax-capacity-constraints": "relax_capacity_constraints",
    "relax-site-capacity-constraints": "relax_site_capacity_constraints",
}
_INFLEXIBLE_FIELDS = ("inflexible-consumption", "inflexible-production")
_CONTEXT_ALLOWED = set(_CONTEXT_FIELDS) | set(_CONTEXT_FLAGS) | set(_INFLEXIBLE_FIELDS)


# --- one flex-model entry -------------------------------------------------------------


@dataclass(frozen=True)
class SocReader:
    """SoC values of one entry: energies in its ``soc-unit`` (default kWh), or % of its
    ``soc-max`` when that is an energy (``capacity_kwh``)."""

    soc_unit: str | None
    capacity_kwh: float | None

    def value(self, value, where: str) -> float:
        """One SoC [kWh]."""
        if isinstance(value, str) and value.strip().endswith("%"):
            if self.capacity_kwh is None:
                raise RequestError(f"{where}: a SoC in % needs the entry's soc-max in energy "
                                   "units, e.g. \"soc-max\": \"75 kWh\"")
            return parse_quantity(value, FRACTION_DIM, where, None) * self.capacity_kwh
        return parse_quantity(value, ENERGY, where, self.soc_unit)


def parse_device(entry, i: int) -> DeviceModel:
    """Flex-model entry ``i`` in kW / kWh / fractions.

    Parameters
    ----------
    entry : dict
        FlexMeasures' flex-model fields of one device, named by ``device`` or ``sensor``.
    i : int
        The entry's position, named in errors as ``flex-model[i]``.

    Raises
    ------
    RequestError, QuantityError
        Naming the field and the accepted form.
    """
    where = f"flex-model[{i}]."
    name, sensor = _device_identity(entry, i)
    allowed = set(_DEVICE_FIELDS) | {"device", "sensor", "soc-unit"}
    for key in entry:
        if key not in allowed:
            raise unknown_field(key, allowed, where)
    soc = _soc_reader(entry, where)
    d = DeviceModel(name=name, sensor=sensor)
    for key, value in entry.items():
        if key in _DEVICE_FIELDS:
            setattr(d, _DEVICE_FIELDS[key], _DEVICE_READERS[key](value, where + key, soc))
    return d


def _device_identity(entry, i: int) -> tuple[str, int | None]:
    """The entry's device name (``device``, else ``sensor <id>``) and sensor id."""
    if not isinstance(entry, dict):
        raise RequestError(f"flex-model[{i}]: expected an object, got {entry!r}")
    sensor = entry.get("sensor")
    if sensor is not None and (not isinstance(sensor, int) or isinstance(sensor, bool)):
        raise RequestError(f"flex-model[{i}].sensor: expected a sensor id (an integer), "
                           f"got {sensor!r}")
    name = entry.get("device", None if sensor is None else f"sensor {sensor}")
    if not isinstance(name, str) or not name:
        raise RequestError(f"flex-model[{i}]: name the device with \"device\": name or "
                           "\"sensor\": id")
    return name, sensor


def _soc_reader(entry: dict, where: str) -> SocReader:
    soc_unit = entry.get("soc-unit")
    if soc_unit not in (None, "kWh", "MWh"):
        raise RequestError(f"{where}soc-unit: expected 'kWh' or 'MWh', got {soc_unit!r}")
    soc_max_raw = entry.get("soc-max")
    capacity = None  # for SoC values in %: the entry's soc-max in energy units
    if soc_max_raw is not None and not (isinstance(soc_max_raw, str) and "%" in soc_max_raw):
        capacity = parse_quantity(soc_max_raw, ENERGY, where + "soc-max", soc_unit)
    return SocReader(soc_unit, capacity)


# Readers of the entry's field groups: (value, where, soc reader) -> the attribute's value

def _read_soc_level(value, where: str, soc: SocReader) -> float:
    """soc-at-start, soc-max: one SoC [kWh]."""
    return soc.value(value, where)


def _read_soc_min(value, where: str, soc: SocReader) -> float:
    """soc-min: one SoC [kWh], >= 0."""
    v = soc.value(value, where)
    if v < 0:
        raise RequestError(f"{where}: must be >= 0 kWh, got {value!r}")
    return v


def _read_soc_series(value, where: str, soc: SocReader) -> VarQ:
    """soc-minima, soc-maxima, soc-targets: one value, a sensor, or
    [{datetime | start, end | duration, value}] [kWh]."""
    if isinstance(value, dict):
        return read_varq(value, ENERGY, where)
    if not isinstance(value, list):
        return soc.value(value, where)
    out = []
    for k, item in enumerate(value):
        w = f"{where}[{k}]"
        if not isinstance(item, dict) or "value" not in item:
            raise RequestError(f"{w}: expected {{datetime, value}} or "
                               "{start, end or duration, value}")
        plain = {key: v for key, v in item.items() if key != "value"}
        (start, end, _), = parse_series([{**plain, "value": 0}], ENERGY, where, "kWh")
        out.append((start, end, soc.value(item["value"], f"{w}.value")))
    return out


def _read_power_limit(value, where: str, soc: SocReader) -> VarQ:
    """power-, consumption-, production-capacity [kW]."""
    return read_varq(value, POWER, where)


def _read_efficiency(value, where: str, soc: SocReader) -> VarQ:
    """charging-, discharging-, storage-efficiency [-] (plain numbers are fractions)."""
    return read_varq(value, FRACTION_DIM, where, "")


def _read_roundtrip(value, where: str, soc: SocReader) -> float:
    """roundtrip-efficiency [-], in (0, 1]."""
    v = parse_quantity(value, FRACTION_DIM, where, "")
    if not 0 < v <= 1:
        raise RequestError(f"{where}: must be in (0, 100%], got {value!r}")
    return v


def _read_power_list(value, where: str, soc: SocReader) -> list:
    """soc-gain, soc-usage: a non-empty list of powers [kW]."""
    if not isinstance(value, list) or not value:
        raise RequestError(f"{where}: expected a list of powers, e.g. [\"1 kW\"]")
    return [read_varq(c, POWER, f"{where}[{k}]") for k, c in enumerate(value)]


def _read_preference(value, where: str, soc: SocReader) -> bool:
    """prefer-charging-sooner, prefer-curtailing-later: true or false."""
    return read_flag(value, where)


_DEVICE_READERS = {
    "soc-at-start": _read_soc_level, "soc-min": _read_soc_min, "soc-max": _read_soc_level,
    "soc-minima": _read_soc_series, "soc-maxima": _read_soc_series,
    "soc-targets": _read_soc_series,
    "power-capacity": _read_power_limit, "consumption-capacity": _read_power_limit,
    "production-capacity": _read_power_limit,
    "charging-efficiency": _read_efficiency, "discharging-efficiency": _read_efficiency,
    "storage-efficiency": _read_efficiency, "roundtrip-efficiency": _read_roundtrip,
    "soc-gain": _read_power_list, "soc-usage": _read_power_list,
    "prefer-charging-sooner": _read_preference, "prefer-curtailing-later": _read_preference,
}


# --- the flex-context -----------------------------------------------------------------


def parse_context(ctx) -> FlexContext:
    """The flex-context in kW and EUR/kWh (energy prices) or EUR/kW (power prices).

    Parameters
    ----------
    ctx : dict
        FlexMeasures' flex-context fields; ``consumption-price`` is required.

    Raises
    ------
    RequestError, QuantityError
        Naming the field and the accepted form.
    """
    if not isinstance(ctx, dict):
        raise RequestError("flex-context: expected an object of flex-context fields")
    c = FlexContext()
    for key, value in ctx.items():
        w = f"flex-context.{key}"
        if key in _CONTEXT_FIELDS:
            _read_context_quantity(c, key, value, w)
        elif key in _CONTEXT_FLAGS:
            setattr(c, _CONTEXT_FLAGS[key], read_flag(value, w))
        elif key in _INFLEXIBLE_FIELDS:
            setattr(c, key.replace("-", "_"), _read_inflexible(value, w))
        else:
            raise unknown_field(key, _CONTEXT_ALLOWED, "flex-context.")
    if c.consumption_price is None:
        raise RequestError("flex-context.consumption-price: is required, e.g. "
                           "\"0.29 EUR/kWh\" or a time series of prices")
    return c


def _read_context_quantity(c: FlexContext, key: str, value, where: str) -> None:
    """A price, site capacity, peak or breach price; only energy prices may be < 0."""
    attr, dim = _CONTEXT_FIELDS[key]
    v = read_varq(value, dim, where)
    if dim is not PRICE and isinstance(v, float) and v < 0:
        raise RequestError(f"{where}: must be >= 0, got {value!r}")
    setattr(c, attr, v)


def _read_inflexible(value, where: str) -> list:
    """inflexible-consumption / -production: a list of power series or sensors [kW]."""
    if not isinstance(value, list):
        raise RequestError(f"{where}: expected a list of devices, each a time series "
                           "[{start, end or duration, value}] or {\"sensor\": id}")
    return [read_varq(item, POWER, f"{where}[{k}]") for k, item in enumerate(value)]
