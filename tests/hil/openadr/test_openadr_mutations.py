"""Seeded mutations of OpenADR payloads: events as openleadr hands them to the VEN
(:func:`hil.openadr.signals.constraints_from_event`: a MalformedEvent naming the field,
or constraints with finite limits and prices, nothing else) and the VTN's events files
(:func:`hil.openadr.events.parse_events`: an EventsFileError, or events that build)."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
import yaml

from hil.openadr.events import EventsFileError, build_event, parse_events
from hil.openadr.signals import MalformedEvent, constraints_from_event
from tests.hil.mutate import Mutator
from tests.hil.openadr.openadr_testkit import EXAMPLE, make_event

UTC14 = dt.timezone(dt.timedelta(hours=14))
ODD = [dt.datetime(2026, 1, 1), dt.datetime.max.replace(tzinfo=dt.UTC),
       dt.datetime.min.replace(tzinfo=UTC14), dt.timedelta(days=999_999_999),
       dt.timedelta(seconds=-5), dt.timedelta(0), math.nan, math.inf, 10**400, 1e308]
TOKENS = {"__NAN__": math.nan, "__INF__": math.inf, "__NINF__": -math.inf,
          "__BIGINT__": 10**5000, "__INT400__": 10**400, "__BIGEXP__": math.inf}


def _materialise(obj, rng):
    """The mutator's text placeholders as Python values (no JSON on this path)."""
    if isinstance(obj, str) and obj.startswith("__"):
        return TOKENS.get(obj) if obj in TOKENS else rng.choice(ODD)
    if isinstance(obj, dict):
        return {k: _materialise(v, rng) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_materialise(v, rng) for v in obj]
    return obj


EVENTS = [make_event("SIMPLE", "level", [1, 2]),
          make_event("LOAD_DISPATCH", "setpoint", [40.0, 30.0],
                     {"name": "powerReal", "unit": "W", "scale": "k"}),
          make_event("ELECTRICITY_PRICE", "price", [0.2],
                     {"name": "currencyPerKWh", "unit": "EUR", "scale": "none"})]
FOUND = [  # (where, odd value): each raised something other than MalformedEvent before
    (("active_period",), 10**5000),                                   # AttributeError
    (("event_signals", 0, "measurement"), math.nan),                  # AttributeError
    (("event_signals", 0, "intervals"), 1.5),                         # TypeError
    (("event_signals", 0, "intervals", 0, "dtstart"), dt.datetime.max.replace(tzinfo=dt.UTC)),
    (("event_signals", 0, "intervals", 0, "signal_payload"), 10**400),  # OverflowError
    (("event_signals", 0, "signal_name"), 10**5000),                  # ValueError in repr
]


@pytest.mark.parametrize(("path", "value"), FOUND, ids=[".".join(map(str, p)) for p, _ in FOUND])
def test_found_events_are_malformed(path, value):
    event = make_event("LOAD_DISPATCH", "setpoint", [40.0], {"name": "powerReal", "unit": "W",
                                                              "scale": "k"})
    node = event
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(MalformedEvent):
        constraints_from_event(event, 100.0)


def test_mutated_events_give_malformed_event_or_finite_constraints():
    m, rng, n_bad = Mutator(2020), random.Random(2020), 0
    for i in range(1500):
        event = _materialise(m.structural(EVENTS[i % 3]), rng)
        if rng.random() < 0.3 and isinstance(event, dict):
            try:
                event["event_signals"][0]["intervals"][0][
                    rng.choice(["dtstart", "duration", "signal_payload"])] = rng.choice(ODD)
            except (KeyError, IndexError, TypeError):
                pass
        try:
            constraints = constraints_from_event(event, 100.0)
        except MalformedEvent as exc:
            n_bad += 1
            assert str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - what the test is looking for
            pytest.fail(f"mutation {i} ({m.describe()}): {type(exc).__name__}: {exc}")
        for c in constraints:
            assert c.start_utc < c.end_utc and c.start_utc.utcoffset() == dt.timedelta(0)
            for v in (c.site_limit_kw, c.price_eur_per_kwh):
                assert v is None or math.isfinite(v), f"mutation {i}: {c}"
    assert n_bad > 300


EVENTS_FILE_FOUND = [  # each raised OverflowError / ValueError instead of EventsFileError
    ("start", -(2**63) - 1), ("duration_s", math.inf), ("start", "9999-12-31T23:59:59-14:00"),
    ("value", 10**5000)]


@pytest.mark.parametrize(("field", "value"), EVENTS_FILE_FOUND,
                         ids=[f"{f}-{k}" for k, (f, _) in enumerate(EVENTS_FILE_FOUND)])
def test_found_events_files_are_refused_naming_the_field(field, value):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["events"][0]["intervals"][0][field] = value
    with pytest.raises(EventsFileError, match=rf"intervals\.0\.{field}|intervals\.0\."):
        parse_events(data, "events")


def test_mutated_events_files_give_events_file_error_or_events_that_build():
    data, m, rng = yaml.safe_load(EXAMPLE.read_text()), Mutator(2021), random.Random(2021)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    for i in range(800):
        mutated = _materialise(m.structural(data), rng)
        try:
            events = parse_events(mutated, "events")
            for k, spec in enumerate(events):
                build_event(spec, f"e{k}", "ven", now)
        except EventsFileError as exc:
            assert "events" in str(exc)
        except Exception as exc:  # noqa: BLE001 - what the test is looking for
            pytest.fail(f"mutation {i} ({m.describe()}): {type(exc).__name__}: {exc}")
