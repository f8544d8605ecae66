"""OpenADR 2.0b events for the test/demo VTN: the YAML schema, its validation, and the
translation of a validated event into openleadr's ``objects.Event``.

Sign convention: positive = consumption / import. A LOAD_DISPATCH setpoint is the site's
import limit [kW]; an ELECTRICITY_PRICE value is an energy price [EUR/kWh].

The events file is a list of events (or a mapping with an ``events:`` list)::

    - id: evening-peak            # optional, unique; generated when absent
      signal_name: SIMPLE         # SIMPLE | LOAD_DISPATCH | ELECTRICITY_PRICE
      signal_type: level          # level (SIMPLE) | setpoint (LOAD_DISPATCH) | price (PRICE)
      target: all                 # a VEN name, or all
      response_required: always   # always | never
      intervals:
        - start: 60               # seconds from now, or ISO 8601 with a UTC offset
          duration_s: 900         # > 0, at most 366 days (so is |start| in seconds)
          value: 2                # SIMPLE: level 0-3; LOAD_DISPATCH: kW; PRICE: EUR/kWh
        - duration_s: 600         # later intervals follow on (OpenADR: contiguous)
          value: 1

On the wire, a LOAD_DISPATCH setpoint carries the EMIX item base ``powerReal`` in W with the
SI scale code ``k`` (so the value is in kW), and a price carries ``currencyPerKWh`` in EUR
with scale ``none`` (so the value is in EUR/kWh).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
import uuid
from pathlib import Path
from typing import Any, Literal

import yaml
from openleadr import objects
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# signal name -> the one signal type this VTN sends for it
SIGNAL_TYPES = {"SIMPLE": "level", "LOAD_DISPATCH": "setpoint", "ELECTRICITY_PRICE": "price"}
SIMPLE_LEVELS = (0, 1, 2, 3)
TARGET_ALL = "all"
MARKET_CONTEXT = "oadr://cariflex.mq/dr"
MAX_SPAN_S = 366 * 86_400.0  # longest interval and farthest start offset [s]

# SI scale codes of EMIX item bases, as powers of ten
SI_SCALE_EXPONENTS = {"p": -12, "n": -9, "micro": -6, "m": -3, "c": -2, "d": -1, "none": 0,
                      "k": 3, "M": 6, "G": 9, "T": 12}


class EventsFileError(ValueError):
    """An events file that cannot be read or fails validation; the message names each
    offending field path, its value and what is allowed."""


class IntervalSpec(BaseModel):
    """One interval of an event signal."""

    model_config = ConfigDict(extra="forbid")

    start: float | dt.datetime | None = Field(
        default=None, description="seconds from now [s], or an ISO 8601 time with a UTC "
        "offset; after the first interval it defaults to the previous interval's end")
    duration_s: float = Field(gt=0, le=MAX_SPAN_S, description="interval length [s]")
    value: float = Field(description="level (SIMPLE), kW (LOAD_DISPATCH), EUR/kWh (price)")

    @field_validator("start")
    @classmethod
    def _aware(cls, v: float | dt.datetime | None) -> float | dt.datetime | None:
        if isinstance(v, dt.datetime) and v.tzinfo is None:
            raise ValueError("an absolute start needs a UTC offset, e.g. "
                             "2026-05-01T18:00:00-04:00 or ...Z")
        if isinstance(v, float) and not (math.isfinite(v) and abs(v) <= MAX_SPAN_S):
            raise ValueError("a start offset must be a finite number of seconds within "
                             f"+-{MAX_SPAN_S:.0f} (366 days)")
        return v

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v

    def start_utc(self, now_utc: dt.datetime) -> dt.datetime | None:
        """Absolute start [UTC]; an offset counts from ``now_utc``; None when not given."""
        if self.start is None:
            return None
        if isinstance(self.start, dt.datetime):
            return self.start.astimezone(dt.UTC)
        return now_utc + dt.timedelta(seconds=self.start)


class EventSpec(BaseModel):
    """One event with a single signal, as the VTN sends it."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    signal_name: Literal["SIMPLE", "LOAD_DISPATCH", "ELECTRICITY_PRICE"]
    signal_type: Literal["level", "setpoint", "price"]
    target: str = Field(default=TARGET_ALL, min_length=1,
                        description="a VEN name, or 'all' for every VEN")
    response_required: Literal["always", "never"] = "always"
    intervals: list[IntervalSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> EventSpec:
        expected = SIGNAL_TYPES[self.signal_name]
        if self.signal_type != expected:
            raise ValueError(f"signal_type: {self.signal_type!r} does not fit signal_name "
                             f"{self.signal_name}; allowed is {expected!r}")
        if self.intervals[0].start is None:
            raise ValueError("intervals.0.start: required for the first interval (seconds "
                             "from now, or ISO 8601 with a UTC offset)")
        if self.signal_name == "SIMPLE":
            for i, iv in enumerate(self.intervals):
                if iv.value not in SIMPLE_LEVELS:
                    raise ValueError(f"intervals.{i}.value: SIMPLE level {iv.value:g} is not "
                                     f"one of {', '.join(map(str, SIMPLE_LEVELS))}")
        self.windows_utc(dt.datetime.now(dt.UTC))  # contiguity
        return self

    def windows_utc(self, now_utc: dt.datetime) -> list[tuple[dt.datetime, dt.datetime, float]]:
        """(start, end, value) of each interval [UTC]. OpenADR intervals are contiguous:
        each starts where the previous one ends (raises ValueError naming the interval)."""
        spans: list[tuple[dt.datetime, dt.datetime, float]] = []
        for i, iv in enumerate(self.intervals):
            try:
                spans.append(self._window(i, iv, spans, now_utc))
            except OverflowError:
                raise ValueError(f"intervals.{i}.start: {iv.start!s:.40} + {iv.duration_s:g} s "
                                 "is outside the years 1-9999") from None
        return spans

    @staticmethod
    def _window(i: int, iv: IntervalSpec, spans: list, now_utc: dt.datetime):
        """(start, end, value) of interval ``i`` after ``spans``."""
        start = iv.start_utc(now_utc)
        if spans:
            prev_end = spans[-1][1]
            if start is None:
                start = prev_end
            elif abs((start - prev_end).total_seconds()) > 1e-3:
                raise ValueError(
                    f"intervals.{i}.start: {iv.start!r} is not where interval {i - 1} "
                    f"ends ({prev_end.isoformat()}); OpenADR intervals are contiguous "
                    "(leave start out to follow on)")
        if start is None:
            raise ValueError("intervals.0.start is required")
        return start, start + dt.timedelta(seconds=iv.duration_s), iv.value


class EventsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> EventsFile:
        seen: set[str] = set()
        for i, ev in enumerate(self.events):
            if ev.id is not None:
                if ev.id in seen:
                    raise ValueError(f"events.{i}.id: {ev.id!r} is used twice; ids must be unique")
                seen.add(ev.id)
        return self


def _show(value: Any) -> str:
    """repr, shortened; also of an int too long to print (its repr raises ValueError)."""
    try:
        text = repr(value)
    except ValueError:
        return f"an int of more than {sys.get_int_max_str_digits()} digits"
    return text if len(text) <= 80 else text[:77] + "..."


def format_validation_error(err: ValidationError, source: str) -> str:
    """One line per problem: ``field.path: message (got value)``."""
    lines = [f"{source}: {err.error_count()} problem(s) in the events file"]
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        own = re.match(r"^([A-Za-z0-9_.]+): (.*)$", msg, re.S)
        if own:  # a cross-field check that names its own field (and shows the value)
            path, msg = ".".join(p for p in (path, own[1]) if p), own[2]
            lines.append(f"  {path}: {msg}")
            continue
        value = e.get("input")
        shown = _show(value) if not isinstance(value, dict | list) else type(value).__name__
        lines.append(f"  {path or '(top level)'}: {msg} (got {shown})")
    return "\n".join(lines)


def parse_events(data: Any, source: str = "events") -> list[EventSpec]:
    """Validate already-loaded YAML data (a list of events or ``{events: [...]}``)."""
    if data is None:
        return []
    if isinstance(data, list):
        data = {"events": data}
    if not isinstance(data, dict):
        raise EventsFileError(f"{source}: expected a list of events or a mapping with "
                              f"'events:', got {type(data).__name__}")
    try:
        return EventsFile.model_validate(data).events
    except ValidationError as err:
        raise EventsFileError(format_validation_error(err, source)) from None


def load_events(path: str | Path) -> list[EventSpec]:
    """Read and validate an events YAML file; raises :class:`EventsFileError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise EventsFileError(f"{path}: cannot read the events file: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise EventsFileError(f"{path}: not valid YAML: {err}") from None
    return parse_events(data, str(path))


def new_event_id() -> str:
    return f"ev-{uuid.uuid4().hex[:12]}"


def signal_measurement(signal_name: str) -> Any:
    """The EMIX item base sent with a signal (None for SIMPLE levels, which have no unit)."""
    if signal_name == "LOAD_DISPATCH":
        return objects.Measurement(
            name="powerReal", description="RealPower", unit="W", scale="k",
            power_attributes=objects.PowerAttributes(hertz=50, voltage=230, ac=True))
    if signal_name == "ELECTRICITY_PRICE":
        return objects.Measurement(name="currencyPerKWh", description="currencyPerKWh",
                                   unit="EUR", scale="none")
    return None


def build_event(spec: EventSpec, event_id: str, ven_id: str, now_utc: dt.datetime) -> Any:
    """The openleadr ``objects.Event`` for ``spec``, addressed to ``ven_id``."""
    windows = spec.windows_utc(now_utc)
    intervals = [objects.Interval(dtstart=start, duration=end - start, signal_payload=value,
                                  uid=i)
                 for i, (start, end, value) in enumerate(windows)]
    # current_value 0 for SIMPLE: openleadr's preflight demands it of events not yet active
    signal = objects.EventSignal(intervals=intervals, signal_name=spec.signal_name,
                                 signal_type=spec.signal_type, signal_id=f"{event_id}-s0",
                                 measurement=signal_measurement(spec.signal_name),
                                 current_value=0 if spec.signal_name == "SIMPLE" else None)
    period_start = windows[0][0]
    active = objects.ActivePeriod(dtstart=period_start, duration=windows[-1][1] - period_start)
    descriptor = objects.EventDescriptor(event_id=event_id, modification_number=0,
                                         market_context=MARKET_CONTEXT, event_status="far",
                                         created_date_time=now_utc, priority=0)
    return objects.Event(event_descriptor=descriptor, active_period=active,
                         event_signals=[signal], targets=[objects.Target(ven_id=ven_id)],
                         response_required=spec.response_required)
