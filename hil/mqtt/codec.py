"""Pure codec of the Cariflex MQTT sensor format: topics and JSON payloads, no I/O.

The format is the production system's::

    topic   cariflex/sensors/{asset_type}/{asset_id}/power
    payload {"value": <float>, "unit": "kW" | "kWh", "timestamp": "<ISO 8601 with offset>"}

Our extension (not in the seed format): the twin's setpoints go to
``cariflex/setpoints/{asset_type}/{asset_id}/power`` in the same payload format
(unit ``kW``).

Sign convention: the payload's ``value`` follows the twin's single convention,
positive = consumption / charging / import, so a PV inverter's production is
negative and a discharging battery is negative. A ``kW`` reading is power and maps
to the attribute ``p_kw``; a ``kWh`` reading is stored energy (batteries, EVs) and
maps to ``e_kwh``.

Every message that does not follow the format raises :class:`MalformedMessage`,
whose reason names the field, the value received and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass

UNITS = ("kW", "kWh")
ATTRIBUTE_OF_UNIT = {"kW": "p_kw", "kWh": "e_kwh"}
CHANNELS = ("sensors", "setpoints")
FIELDS = ("value", "unit", "timestamp")
SENSOR_WILDCARD = "cariflex/sensors/+/+/power"
MAX_PAYLOAD_BYTES = 1024  # a well-formed payload is under 100 bytes

_PART = r"[A-Za-z0-9_.\-]+"
_PART_RE = re.compile(rf"^{_PART}$")
_TOPIC_RE = re.compile(rf"^cariflex/(?P<channel>[a-z]+)/(?P<asset_type>{_PART})"
                       rf"/(?P<asset_id>{_PART})/power$")
_ALLOWED_PART = "letters, digits, '_', '.' or '-' (no '/', '+', '#', not empty)"


class MalformedMessage(ValueError):
    """A topic or payload that does not follow the format; ``str()`` is the reason."""


@dataclass(frozen=True)
class Reading:
    """One decoded message.

    Attributes
    ----------
    asset_type, asset_id : str
        From the topic.
    value : float
        Power [kW] or stored energy [kWh], twin sign (positive = consumption /
        charging / import).
    unit : str
        ``"kW"`` or ``"kWh"``.
    timestamp : datetime.datetime
        When the device measured it; timezone-aware.
    """

    asset_type: str
    asset_id: str
    value: float
    unit: str
    timestamp: dt.datetime

    @property
    def attribute(self) -> str:
        """The twin attribute this reading sets: ``p_kw`` or ``e_kwh``."""
        return ATTRIBUTE_OF_UNIT[self.unit]


def _check_part(name: str, value: object) -> str:
    if not isinstance(value, str) or not _PART_RE.match(value):
        raise ValueError(f"{name} {value!r} is not allowed: use {_ALLOWED_PART}")
    return value


def topic_for(asset_type: str, asset_id: str, channel: str = "sensors") -> str:
    """The topic of one asset.

    Parameters
    ----------
    asset_type, asset_id : str
        Topic parts: letters, digits, ``_``, ``.`` or ``-``.
    channel : str, default "sensors"
        ``"sensors"`` (device -> twin) or ``"setpoints"`` (twin -> device, our extension).

    Returns
    -------
    str
        ``cariflex/{channel}/{asset_type}/{asset_id}/power``.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    return f"cariflex/{channel}/{_check_part('asset_type', asset_type)}/" \
           f"{_check_part('asset_id', asset_id)}/power"


def parse_topic(topic: str, channel: str = "sensors") -> tuple[str, str]:
    """``(asset_type, asset_id)`` of a topic, or :class:`MalformedMessage`."""
    match = _TOPIC_RE.match(topic) if isinstance(topic, str) else None
    if match is None or match["channel"] != channel:
        raise MalformedMessage(
            f"topic {topic!r} does not match cariflex/{channel}/{{asset_type}}/{{asset_id}}"
            f"/power with parts of {_ALLOWED_PART}")
    return match["asset_type"], match["asset_id"]


def _finite_number(value: object) -> bool:
    """A number (not a bool) that is finite as a float (10**400 is not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def encode(value: float, unit: str, timestamp: dt.datetime) -> bytes:
    """The JSON payload of one reading.

    Parameters
    ----------
    value : float
        Power [kW] or stored energy [kWh], twin sign; finite.
    unit : str
        ``"kW"`` or ``"kWh"``.
    timestamp : datetime.datetime
        Timezone-aware; written in ISO 8601 with its offset, microseconds kept.

    Returns
    -------
    bytes
        UTF-8 JSON ``{"value": ..., "unit": ..., "timestamp": ...}``.
    """
    if not _finite_number(value):
        raise ValueError(f"value {value!r:.40} is not allowed: need a finite number")
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    if not isinstance(timestamp, dt.datetime) or timestamp.utcoffset() is None:
        raise ValueError(f"timestamp {timestamp!r} is not allowed: need a timezone-aware "
                         "datetime")
    return json.dumps({"value": float(value), "unit": unit,
                       "timestamp": timestamp.isoformat()}).encode()


def _reject_constant(name: str) -> float:
    raise MalformedMessage(f"field 'value' {name} is not allowed: need a finite number")


def _bounded_int(text: str) -> int:
    """An integer that fits a double (a 400-digit one made ``math.isfinite`` overflow)."""
    if len(text.lstrip("-")) > 308:
        raise MalformedMessage(f"field value {text[:20]}... ({len(text)} digits) is not "
                               "allowed: need a finite number")
    return int(text)


def decode_payload(payload: bytes | str) -> tuple[float, str, dt.datetime]:
    """``(value, unit, timestamp)`` of a payload, or :class:`MalformedMessage`."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MalformedMessage(f"payload of {len(payload)} bytes is too long: at most "
                               f"{MAX_PAYLOAD_BYTES}")
    try:
        text = payload.decode() if isinstance(payload, bytes | bytearray) else payload
        obj = json.loads(text, parse_constant=_reject_constant, parse_int=_bounded_int)
    except MalformedMessage:
        raise
    except RecursionError:  # '[' x 1000 fits in MAX_PAYLOAD_BYTES
        raise MalformedMessage(f"payload {payload[:20]!r}... nests too deep; need an object "
                               "with value, unit, timestamp") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage(f"payload {payload[:60]!r} is not UTF-8 JSON ({exc}); "
                               "need an object with value, unit, timestamp") from None
    if not isinstance(obj, dict):
        raise MalformedMessage(f"payload {obj!r:.60} is a {type(obj).__name__}, not a JSON "
                               "object with value, unit, timestamp")
    missing = [f for f in FIELDS if f not in obj]
    extra = sorted(set(obj) - set(FIELDS))
    if missing:
        raise MalformedMessage(f"field {missing[0]!r} is missing; need exactly "
                               f"{', '.join(FIELDS)}")
    if extra:
        raise MalformedMessage(f"field {extra[0]!r} is not allowed; need exactly "
                               f"{', '.join(FIELDS)}")
    value, unit, stamp = obj["value"], obj["unit"], obj["timestamp"]
    if not _finite_number(value):
        raise MalformedMessage(f"field 'value' {value!r:.40} is not allowed: need a finite "
                               "number")
    if unit not in UNITS:
        raise MalformedMessage(f"field 'unit' {unit!r:.40} is not one of {', '.join(UNITS)}")
    return float(value), unit, _parse_timestamp(stamp)


def _parse_timestamp(stamp: object) -> dt.datetime:
    allowed = "need ISO 8601 with a UTC offset, e.g. 2024-06-01T12:00:00-04:00 or ...Z"
    if not isinstance(stamp, str):
        raise MalformedMessage(f"field 'timestamp' {stamp!r:.40} is not a string; {allowed}")
    try:
        parsed = dt.datetime.fromisoformat(stamp)
    except ValueError:
        raise MalformedMessage(f"field 'timestamp' {stamp!r:.40} is not ISO 8601; "
                               f"{allowed}") from None
    if parsed.utcoffset() is None:
        raise MalformedMessage(f"field 'timestamp' {stamp!r:.40} has no UTC offset; {allowed}")
    return parsed


def decode(topic: str, payload: bytes | str, channel: str = "sensors") -> Reading:
    """Decode one message.

    Parameters
    ----------
    topic : str
        ``cariflex/{channel}/{asset_type}/{asset_id}/power``.
    payload : bytes or str
        UTF-8 JSON object with exactly ``value``, ``unit``, ``timestamp``.
    channel : str, default "sensors"
        The topic's second part: ``"sensors"`` or ``"setpoints"``.

    Returns
    -------
    Reading

    Raises
    ------
    MalformedMessage
        Naming the field, the value received and what is allowed.
    """
    asset_type, asset_id = parse_topic(topic, channel)
    value, unit, timestamp = decode_payload(payload)
    return Reading(asset_type, asset_id, value, unit, timestamp)
