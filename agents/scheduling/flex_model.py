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

import pandas as pd

from agents.scheduling.flex_fields import parse_context, parse_device
from agents.scheduling.flex_types import (
    DeviceModel,
    FlexContext,
    RequestError,
    ScheduleRequest,
    SensorRef,
    VarQ,
    unknown_field,
)
from agents.scheduling.quantities import QuantityError, parse_timestamp
from twin.timeparse import parse_duration_s

__all__ = ["MAX_DEVICES", "MAX_STEPS", "DeviceModel", "FlexContext", "RequestError",
           "ScheduleRequest", "SensorRef", "VarQ", "parse_context", "parse_device",
           "parse_request"]

#: Most steps and devices in one request (bounds the optimisation's size).
MAX_STEPS = 50_000
MAX_DEVICES = 500
_TOP_FIELDS = {"start", "duration", "resolution", "flex-model", "flex-context", "asset", "id",
               "prior", "sequential", "force-new-job-creation"}


def parse_request(body) -> ScheduleRequest:
    """Read a trigger body; raises :class:`RequestError` (also for quantity errors)."""
    try:
        return _parse_request(body)
    except QuantityError as exc:
        raise RequestError(str(exc)) from None


def _parse_request(body) -> ScheduleRequest:
    _check_top_fields(body)
    start, duration, resolution = _parse_window(body)
    devices = _parse_devices(body.get("flex-model", []))
    context = parse_context(body.get("flex-context", {}))
    asset = _parse_asset(body)
    end = _end_with_targets(start, start + duration, resolution, devices)
    return ScheduleRequest(start, end, resolution, devices, context, asset, body)


def _check_top_fields(body) -> None:
    """The body is an object of known fields with a start."""
    if not isinstance(body, dict):
        raise RequestError("the request must be a JSON object with start, duration, "
                           "flex-model and flex-context")
    for key in body:
        if key not in _TOP_FIELDS:
            raise unknown_field(key, _TOP_FIELDS, "")
    if "start" not in body:
        raise RequestError("start: is required (an ISO 8601 date-time with its UTC offset, "
                           "e.g. '2026-06-01T00:00:00-04:00')")


def _parse_window(body: dict) -> tuple[pd.Timestamp, pd.Timedelta, pd.Timedelta]:
    """``start``, ``duration`` (default PT24H) and ``resolution`` (default PT15M)."""
    start = parse_timestamp(body["start"], "start")
    seconds = {}
    for which, default in (("duration", "PT24H"), ("resolution", "PT15M")):
        try:
            seconds[which] = parse_duration_s(body.get(which, default))
        except ValueError as exc:
            raise RequestError(f"{which}: {exc}") from None
    if seconds["duration"] // seconds["resolution"] > MAX_STEPS:
        steps = seconds["duration"] // seconds["resolution"]
        raise RequestError(f"duration / resolution = {steps:,} steps; at most {MAX_STEPS:,} "
                           "(a leap year at 15 min is 35,136)")
    duration = pd.Timedelta(seconds=seconds["duration"])
    resolution = pd.Timedelta(seconds=seconds["resolution"])
    if duration % resolution != pd.Timedelta(0):
        raise RequestError(f"duration: {body.get('duration')} is not a whole number of "
                           f"resolution steps ({body.get('resolution', 'PT15M')})")
    if start.floor(resolution) != start:
        raise RequestError(f"start: {body['start']} is not on a {body.get('resolution', 'PT15M')} "
                           "tick")
    return start, duration, resolution


def _parse_devices(entries) -> list[DeviceModel]:
    """The flex-model: one entry or a list of them, each naming a different device."""
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise RequestError("flex-model: expected a list of entries, each naming a device "
                           "(\"device\": name or \"sensor\": id) with its flex-model fields")
    if len(entries) > MAX_DEVICES:
        raise RequestError(f"flex-model: {len(entries):,} devices; at most {MAX_DEVICES:,}")
    devices = [parse_device(e, i) for i, e in enumerate(entries)]
    names = [d.name for d in devices]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RequestError(f"flex-model: device {dupes[0]!r} occurs more than once")
    return devices


def _parse_asset(body: dict) -> int | None:
    asset = body.get("asset", body.get("id"))
    if asset is not None and (not isinstance(asset, int) or isinstance(asset, bool)):
        raise RequestError(f"asset: expected an asset id (an integer), got {asset!r}")
    return asset


def _end_with_targets(start: pd.Timestamp, end: pd.Timestamp, resolution: pd.Timedelta,
                      devices: list[DeviceModel]) -> pd.Timestamp:
    """FlexMeasures extends the window to the latest soc-target (on a tick)."""
    for d in devices:
        if isinstance(d.soc_targets, list) and d.soc_targets:
            latest = max(e for _, e, _ in d.soc_targets).ceil(resolution)
            end = max(end, latest)
    if (end - start) / resolution > MAX_STEPS:
        raise RequestError(f"flex-model: a soc-target at {end} stretches the schedule to "
                           f"{int((end - start) / resolution):,} steps; at most {MAX_STEPS:,}")
    return end

