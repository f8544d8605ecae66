"""OpenADR events file, signal translation and opt decision: pure tests, no network."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest

from hil.openadr.events import EventsFileError, build_event, load_events, parse_events
from hil.openadr.signals import (
    MalformedEvent,
    SiteConstraint,
    can_comply,
    check_levels,
    constraints_from_event,
    price_at,
    tightest_limit_kw,
)
from hil.openadr.vtn import add_arguments, main
from tests.hil.openadr.openadr_testkit import EXAMPLE, T0, make_event


# ----------------------------------------------------------------- events file
def test_load_events_example_file():
    events = load_events(EXAMPLE)
    assert [(e.id, e.signal_name, e.signal_type) for e in events] == [
        ("evening-peak-simple", "SIMPLE", "level"),
        ("feeder-dispatch", "LOAD_DISPATCH", "setpoint"),
        ("evening-price", "ELECTRICITY_PRICE", "price")]
    windows = events[0].windows_utc(T0)
    assert windows == [(T0 + dt.timedelta(seconds=60), T0 + dt.timedelta(seconds=960), 1.0),
                       (T0 + dt.timedelta(seconds=960), T0 + dt.timedelta(seconds=1860), 2.0)]
    assert events[1].target == "site-1" and events[2].response_required == "never"


def test_load_events_bad_file_names_field_value_and_allowed(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "events:\n"
        "  - signal_name: SIMPLE\n"
        "    signal_type: level\n"
        "    intervals:\n"
        "      - {start: 0, duration_s: 60, value: 5}\n"
        "  - signal_name: LOAD_SHED\n"
        "    signal_type: setpoint\n"
        "    intervals: [{start: 0, duration_s: 60, value: 10}]\n"
        "  - signal_name: ELECTRICITY_PRICE\n"
        "    signal_type: level\n"
        "    response_required: sometimes\n"
        "    intervals: [{start: '2026-05-01T18:00:00', duration_s: 0, value: 0.2}]\n",
        encoding="utf-8")
    with pytest.raises(EventsFileError) as info:
        load_events(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "events.0.intervals.0.value: SIMPLE level 5 is not one of 0, 1, 2, 3" in msg
    assert "events.1.signal_name: Input should be 'SIMPLE', 'LOAD_DISPATCH' or " \
           "'ELECTRICITY_PRICE' (got 'LOAD_SHED')" in msg
    assert "events.2.response_required: Input should be 'always' or 'never' " \
           "(got 'sometimes')" in msg
    assert "events.2.intervals.0.start: an absolute start needs a UTC offset" in msg
    assert "events.2.intervals.0.duration_s: Input should be greater than 0 (got 0)" in msg


def test_parse_events_signal_type_mismatch_and_duplicate_id():
    with pytest.raises(EventsFileError, match=r"events\.0\.signal_type: 'level' does not fit "
                                              r"signal_name ELECTRICITY_PRICE; allowed is 'price'"):
        parse_events([{"signal_name": "ELECTRICITY_PRICE", "signal_type": "level",
                       "intervals": [{"start": 0, "duration_s": 60, "value": 0.2}]}])
    one = {"id": "x", "signal_name": "SIMPLE", "signal_type": "level",
           "intervals": [{"start": 0, "duration_s": 60, "value": 1}]}
    with pytest.raises(EventsFileError, match=r"events\.1\.id: 'x' is used twice"):
        parse_events([one, one])


def test_parse_events_intervals_must_be_contiguous():
    spec = {"signal_name": "LOAD_DISPATCH", "signal_type": "setpoint",
            "intervals": [{"start": 0, "duration_s": 60, "value": 10},
                          {"start": 90, "duration_s": 60, "value": 20}]}
    with pytest.raises(EventsFileError, match=r"events\.0\.intervals\.1\.start: 90\.0 is not "
                                              r"where interval 0 ends"):
        parse_events([spec])
    spec["intervals"][1].pop("start")  # follows on
    (event,) = parse_events([spec])
    assert [(s - T0).total_seconds() for s, _, _ in event.windows_utc(T0)] == [0.0, 60.0]


def test_load_events_not_yaml_and_missing_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("events: [\n", encoding="utf-8")
    with pytest.raises(EventsFileError, match="not valid YAML"):
        load_events(path)
    with pytest.raises(EventsFileError, match="cannot read the events file"):
        load_events(tmp_path / "missing.yaml")


def test_main_bad_events_file_returns_2(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("- {signal_name: SIMPLE, signal_type: level, intervals: []}\n",
                    encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--port", "0", "--events", str(path)])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "events.0.intervals: List should have at least 1 item" in err


def test_build_event_units_on_the_wire():
    spec, price = parse_events([
        {"signal_name": "LOAD_DISPATCH", "signal_type": "setpoint", "target": "site-1",
         "intervals": [{"start": 30, "duration_s": 600, "value": 40}]},
        {"signal_name": "ELECTRICITY_PRICE", "signal_type": "price",
         "intervals": [{"start": 0, "duration_s": 600, "value": 0.2}]}])
    event = build_event(spec, "ev-1", "site-1", T0)
    signal = event.event_signals[0]
    assert (signal.measurement.name, signal.measurement.unit, signal.measurement.scale) == \
        ("powerReal", "W", "k")
    assert event.active_period.dtstart == T0 + dt.timedelta(seconds=30)
    assert event.active_period.duration == dt.timedelta(seconds=600)
    assert event.targets[0].ven_id == "site-1"
    m = build_event(price, "ev-2", "site-1", T0).event_signals[0].measurement
    assert (m.name, m.unit, m.scale) == ("currencyPerKWh", "EUR", "none")


# ----------------------------------------------------------------- signals
def test_constraints_from_event_simple_levels_of_capacity():
    cs = constraints_from_event(make_event("SIMPLE", "level", [1, 2, 3, 0]), 200.0)
    assert [c.site_limit_kw for c in cs] == [150.0, 100.0, 50.0, None]
    assert [c.level for c in cs] == [1, 2, 3, 0]
    assert cs[1].start_utc == T0 + dt.timedelta(seconds=900)
    assert cs[1].end_utc == T0 + dt.timedelta(seconds=1800)
    custom = constraints_from_event(make_event("SIMPLE", "level", [1]), 200.0,
                                    levels={0: None, 1: 90.0, 2: 60.0, 3: 10.0})
    assert custom[0].site_limit_kw == 180.0


def test_constraints_from_event_load_dispatch_scales_to_kw():
    kw = {"name": "powerReal", "description": "RealPower", "unit": "W", "scale": "k"}
    watts = dict(kw, scale="none")
    assert constraints_from_event(make_event("LOAD_DISPATCH", "setpoint", [40.0], kw),
                                  100.0)[0].site_limit_kw == 40.0
    assert constraints_from_event(make_event("LOAD_DISPATCH", "setpoint", [2500.0], watts),
                                  100.0)[0].site_limit_kw == 2.5
    assert constraints_from_event(make_event("LOAD_DISPATCH", "setpoint", [12.0]),
                                  100.0)[0].site_limit_kw == 12.0  # no item base: kW


def test_constraints_from_event_price_to_eur_per_kwh():
    eur = {"name": "currencyPerKWh", "description": "currencyPerKWh", "unit": "EUR",
           "scale": "none"}
    cents = dict(eur, scale="c")
    assert constraints_from_event(make_event("ELECTRICITY_PRICE", "price", [0.25], eur),
                                  100.0)[0].price_eur_per_kwh == 0.25
    assert constraints_from_event(make_event("ELECTRICITY_PRICE", "price", [18.0], cents),
                                  100.0)[0].price_eur_per_kwh == pytest.approx(0.18)
    with pytest.raises(MalformedEvent, match="'currencyPerKWh' in 'USD' is not supported"):
        constraints_from_event(make_event("ELECTRICITY_PRICE", "price", [0.2],
                                          dict(eur, unit="USD")), 100.0)


@pytest.mark.parametrize(("event", "match"), [
    (make_event("x-custom", "level", [1]), "signal x-custom of type 'level' is not supported"),
    (make_event("LOAD_DISPATCH", "delta", [1]), "of type 'delta' is not supported"),
    (make_event("SIMPLE", "level", [4]), "level 4 is not one of 0, 1, 2, 3"),
    (make_event("SIMPLE", "level", [None]), "signal payload None is not a finite number"),
    (make_event("ELECTRICITY_PRICE", "price", [0.2], step_s=0), "open-ended"),
    ({"event_signals": []}, "without event_descriptor.event_id"),
])
def test_constraints_from_event_malformed(event, match):
    with pytest.raises(MalformedEvent, match=match):
        constraints_from_event(event, 100.0)


def test_constraints_from_event_intervals_without_dtstart_follow_the_active_period():
    event = make_event("SIMPLE", "level", [1, 2])
    for iv in event["event_signals"][0]["intervals"]:
        del iv["dtstart"]
    cs = constraints_from_event(event, 100.0)
    assert [c.start_utc for c in cs] == [T0, T0 + dt.timedelta(seconds=900)]


def test_can_comply_cases():
    assert can_comply(50.0, inflexible_kw=60.0, flexible_kw=10.0)       # 50 <= 50
    assert not can_comply(49.9, inflexible_kw=60.0, flexible_kw=10.0)
    assert can_comply(None, inflexible_kw=500.0, flexible_kw=0.0)       # no limit
    assert can_comply(-5.0, inflexible_kw=2.0, flexible_kw=8.0)         # export of 6 kW
    with pytest.raises(ValueError, match="flexible_kw must be a finite reduction >= 0 kW"):
        can_comply(10.0, inflexible_kw=5.0, flexible_kw=-1.0)


def test_check_levels_rejects_bad_table():
    with pytest.raises(ValueError, match=r"levels: key 4 is not a SIMPLE level"):
        check_levels({4: 10.0})
    with pytest.raises(ValueError, match=r"levels\[1\]: 120 is not a percentage"):
        check_levels({1: 120})


def test_tightest_limit_and_price_at():
    def c(start_s, end_s, **kw):
        return SiteConstraint(T0 + dt.timedelta(seconds=start_s),
                              T0 + dt.timedelta(seconds=end_s), "e", "X", **kw)
    cs = [c(0, 100, site_limit_kw=80.0), c(50, 150, site_limit_kw=40.0),
          c(0, 200, site_limit_kw=10.0, opted_in=False),
          c(0, 100, price_eur_per_kwh=0.2), c(60, 100, price_eur_per_kwh=0.3)]
    at = lambda s: T0 + dt.timedelta(seconds=s)  # noqa: E731
    assert tightest_limit_kw(cs, at(10)) == 80.0
    assert tightest_limit_kw(cs, at(60)) == 40.0
    assert tightest_limit_kw(cs, at(100)) == 40.0   # end is exclusive for the first
    assert tightest_limit_kw(cs, at(150)) is None   # opted-out limit not applied
    assert price_at(cs, at(10)) == 0.2 and price_at(cs, at(70)) == 0.3
    assert price_at(cs, at(100)) is None
