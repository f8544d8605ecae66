"""The real openleadr VEN (VenBridge) against the real openleadr VTN (Vtn) over loopback
HTTP: registration, events to constraints, opt in/out, TELEMETRY_USAGE, faults."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
from openleadr import objects

from hil.base import BackgroundLoop, FaultLog, FaultPolicy
from hil.openadr.ven import VenBridge
from hil.openadr.vtn import Vtn

POLL_S = 0.5
FAST = FaultPolicy(timeout_s=1.0, backoff_initial_s=0.2, backoff_max_s=0.5)
pytestmark = pytest.mark.timeout(30)


def wait_until(predicate, timeout_s=5.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def loop():
    lp = BackgroundLoop()
    yield lp
    lp.stop()


@pytest.fixture
def vtn(loop):
    server = Vtn(poll_interval_s=POLL_S)
    loop.run(server.start(), 5)
    yield server
    loop.run(server.stop(), 5)


@pytest.fixture
def faults():
    return FaultLog()


def make_ven(loop, faults, url, name="site-1", **kw):
    return VenBridge(url, name, loop, faults, site_capacity_kw=100.0, policy=FAST,
                     report_interval_s=1, poll_interval_s=POLL_S, **kw)


@pytest.fixture
def ven(loop, faults, vtn):
    bridge = make_ven(loop, faults, vtn.url)
    bridge.start()
    wait_until(lambda: bridge.registered, 5, "registration")
    yield bridge
    bridge.stop()


def test_ven_registers_with_vtn(vtn, ven, faults):
    assert ven.ven_id == "site-1"
    assert vtn.vens["site-1"]["ven_name"] == "site-1"
    assert faults.kinds() == []


def test_events_become_constraints_for_their_window(vtn, ven):
    ven.set_site_state(inflexible_kw=30.0, flexible_kw=10.0)  # can go down to 20 kW
    simple = vtn.add_event(signal_name="SIMPLE", signal_type="level", target="site-1",
                           intervals=[{"start": 60, "duration_s": 900, "value": 2},
                                      {"duration_s": 600, "value": 3}])
    dispatch = vtn.add_event(signal_name="LOAD_DISPATCH", signal_type="setpoint",
                             intervals=[{"start": 120, "duration_s": 1800, "value": 40.0}])
    price = vtn.add_event(signal_name="ELECTRICITY_PRICE", signal_type="price",
                          target="all", response_required="never",
                          intervals=[{"start": 0, "duration_s": 3600, "value": 0.18}])
    other = vtn.add_event(signal_name="SIMPLE", signal_type="level", target="site-2",
                          intervals=[{"start": 0, "duration_s": 60, "value": 3}])
    t_added = dt.datetime.now(dt.UTC)
    wait_until(lambda: len(ven.constraints()) == 4, 5, "four constraints")
    by_event = {}
    for c in ven.constraints():
        by_event.setdefault(c.event_id, []).append(c)
    assert other not in by_event                     # targeted at another VEN
    s1, s2 = by_event[simple]
    assert (s1.signal, s1.level, s1.site_limit_kw) == ("SIMPLE", 2, 50.0)
    assert (s2.level, s2.site_limit_kw) == (3, 25.0)
    assert s1.end_utc - s1.start_utc == dt.timedelta(seconds=900)
    assert s2.start_utc == s1.end_utc and s2.end_utc - s2.start_utc == dt.timedelta(seconds=600)
    assert abs((s1.start_utc - t_added).total_seconds() - 60) < 1.0
    (d,) = by_event[dispatch]
    assert (d.signal, d.site_limit_kw, d.price_eur_per_kwh) == ("LOAD_DISPATCH", 40.0, None)
    assert d.end_utc - d.start_utc == dt.timedelta(seconds=1800)
    assert abs((d.start_utc - t_added).total_seconds() - 120) < 1.0
    (p,) = by_event[price]
    assert (p.signal, p.price_eur_per_kwh, p.site_limit_kw) == ("ELECTRICITY_PRICE", 0.18, None)
    # the scheduler's view over time
    at = lambda s: s1.start_utc + dt.timedelta(seconds=s)  # noqa: E731
    assert ven.site_limit_kw_at(at(-30)) is None
    assert ven.site_limit_kw_at(at(10)) == 50.0
    assert ven.site_limit_kw_at(at(100)) == 40.0       # dispatch tighter than level 2
    assert ven.site_limit_kw_at(at(1000)) == 25.0      # level 3 tighter than dispatch
    assert [c.event_id for c in ven.constraints_at(at(1000))] == [price, dispatch, simple]
    assert ven.price_eur_per_kwh_at(at(10)) == 0.18
    wait_until(lambda: simple in vtn.opt_responses and dispatch in vtn.opt_responses, 3,
               "opt responses")
    assert price not in vtn.opt_responses              # response_required: never


def test_opt_in_when_site_can_comply_and_out_when_it_cannot(vtn, ven):
    ven.set_site_state(inflexible_kw=60.0, flexible_kw=25.0)  # can go down to 35 kW
    ok = vtn.add_event(signal_name="LOAD_DISPATCH", signal_type="setpoint",
                       intervals=[{"start": 0, "duration_s": 600, "value": 40.0}])
    too_low = vtn.add_event(signal_name="LOAD_DISPATCH", signal_type="setpoint",
                            intervals=[{"start": 0, "duration_s": 600, "value": 30.0}])
    level3 = vtn.add_event(signal_name="SIMPLE", signal_type="level",
                           intervals=[{"start": 0, "duration_s": 600, "value": 3}])  # 25 kW
    price = vtn.add_event(signal_name="ELECTRICITY_PRICE", signal_type="price",
                          intervals=[{"start": 0, "duration_s": 600, "value": 0.5}])
    wait_until(lambda: len(vtn.opt_responses) == 4, 5, "four opt responses")
    assert vtn.opt_responses == {ok: {"site-1": "optIn"}, too_low: {"site-1": "optOut"},
                                 level3: {"site-1": "optOut"}, price: {"site-1": "optIn"}}
    opted = {c.event_id: c.opted_in for c in ven.constraints()}
    assert opted == {ok: True, too_low: False, level3: False, price: True}
    # only the opted-in limit constrains the schedule
    assert ven.site_limit_kw_at(dt.datetime.now(dt.UTC)) == 40.0


def test_pluggable_can_comply_callback(loop, faults, vtn):
    seen = []

    def decide(constraint):
        seen.append(constraint)
        return constraint.site_limit_kw >= 70.0

    bridge = make_ven(loop, faults, vtn.url, name="site-cb", can_comply=decide)
    bridge.start()
    try:
        wait_until(lambda: bridge.registered, 5, "registration")
        e75 = vtn.add_event(signal_name="SIMPLE", signal_type="level", target="site-cb",
                            intervals=[{"start": 0, "duration_s": 60, "value": 1}])
        e50 = vtn.add_event(signal_name="SIMPLE", signal_type="level", target="site-cb",
                            intervals=[{"start": 0, "duration_s": 60, "value": 2}])
        wait_until(lambda: len(vtn.opt_responses) == 2, 5, "two opt responses")
        assert vtn.opt_responses == {e75: {"site-cb": "optIn"}, e50: {"site-cb": "optOut"}}
        assert sorted(c.site_limit_kw for c in seen) == [50.0, 75.0]
    finally:
        bridge.stop()


def test_telemetry_usage_report_carries_site_power(vtn, ven):
    ven.set_site_power_kw(42.5)
    wait_until(lambda: any(r.p_kw == 42.5 for r in vtn.reports), 4, "a 42.5 kW report")
    ven.set_site_power_kw(-7.25)  # exporting
    wait_until(lambda: any(r.p_kw == -7.25 for r in vtn.reports), 4, "a -7.25 kW report")
    report = vtn.reports[-1]
    assert (report.ven_id, report.resource_id, report.unit, report.scale) == \
        ("site-1", "site-1", "W", "k")
    assert report.value == -7.25
    assert abs((report.received_utc - report.t_utc).total_seconds()) < 2.0


def test_vtn_down_at_start_then_registers_when_it_comes_up(loop, faults):
    port = free_port()
    server = Vtn(port=port, poll_interval_s=POLL_S)
    bridge = make_ven(loop, faults, server.url)
    bridge.start()
    try:
        wait_until(lambda: "connection_refused" in faults.kinds("site-1"), 5,
                   "connection_refused")
        time.sleep(1.0)  # several backoff retries while the VTN is down
        assert not bridge.registered
        assert faults.kinds("site-1") == ["connection_refused"]  # once per outage
        loop.run(server.start(), 5)
        wait_until(lambda: bridge.registered, 5, "registration once the VTN is up")
        assert faults.kinds("site-1") == ["connection_refused", "reconnected"]
        event = server.add_event(signal_name="SIMPLE", signal_type="level",
                                 intervals=[{"start": 0, "duration_s": 60, "value": 1}])
        wait_until(lambda: [c.event_id for c in bridge.constraints()] == [event], 5,
                   "the event after late registration")
    finally:
        bridge.stop()
        loop.run(server.stop(), 5)


def test_malformed_event_recorded_and_ignored(vtn, ven, faults):
    now = dt.datetime.now(dt.UTC)
    bad = objects.Event(
        event_descriptor=objects.EventDescriptor(event_id="bad-1", modification_number=0,
                                                 market_context="oadr://test",
                                                 event_status="far"),
        event_signals=[objects.EventSignal(
            intervals=[objects.Interval(dtstart=now, duration=dt.timedelta(minutes=5),
                                        signal_payload=1.0)],
            signal_name="x-unknown-signal", signal_type="level", signal_id="s1")],
        targets=[objects.Target(ven_id=ven.ven_id)])
    vtn.add_raw_event(ven.ven_id, bad)
    wait_until(lambda: "malformed" in faults.kinds("site-1"), 5, "a malformed fault")
    assert "x-unknown-signal" in faults.all()[0].detail
    wait_until(lambda: "bad-1" in vtn.opt_responses, 3, "the opt response")
    assert vtn.opt_responses["bad-1"] == {"site-1": "optOut"}
    assert ven.constraints() == []
    # the VEN carries on with well-formed events
    good = vtn.add_event(signal_name="SIMPLE", signal_type="level",
                         intervals=[{"start": 0, "duration_s": 60, "value": 1}])
    wait_until(lambda: [c.event_id for c in ven.constraints()] == [good], 5, "the good event")
    assert ven.registered and faults.kinds("site-1") == ["malformed"]


def test_vtn_message_failing_the_schema_is_recorded_malformed(vtn, ven, faults):
    now = dt.datetime.now(dt.UTC)
    # powerReal without its power attributes: openleadr renders it, the schema refuses it
    measurement = objects.Measurement(name="powerReal", description="RealPower", unit="W",
                                      scale="k")
    bad = objects.Event(
        event_descriptor=objects.EventDescriptor(event_id="bad-2", modification_number=0,
                                                 market_context="oadr://test",
                                                 event_status="far"),
        event_signals=[objects.EventSignal(
            intervals=[objects.Interval(dtstart=now, duration=dt.timedelta(minutes=5),
                                        signal_payload=10.0)],
            signal_name="LOAD_DISPATCH", signal_type="setpoint", signal_id="s1",
            measurement=measurement)],
        targets=[objects.Target(ven_id=ven.ven_id)])
    vtn.add_raw_event(ven.ven_id, bad)
    wait_until(lambda: "malformed" in faults.kinds("site-1"), 5, "a malformed fault")
    assert "schema" in faults.all()[0].detail
    assert ven.constraints() == [] and ven.registered


def test_vtn_events_file_events_reach_a_late_ven(loop, faults, tmp_path):
    from hil.openadr.events import load_events

    path = tmp_path / "events.yaml"
    path.write_text(
        "- id: all-price\n"
        "  signal_name: ELECTRICITY_PRICE\n"
        "  signal_type: price\n"
        "  intervals: [{start: 0, duration_s: 600, value: 0.3}]\n"
        "- id: only-b\n"
        "  signal_name: LOAD_DISPATCH\n"
        "  signal_type: setpoint\n"
        "  target: site-b\n"
        "  intervals: [{start: 0, duration_s: 600, value: 55}]\n", encoding="utf-8")
    server = Vtn(events=load_events(path), poll_interval_s=POLL_S)
    loop.run(server.start(), 5)
    a = make_ven(loop, faults, server.url, name="site-a")
    b = make_ven(loop, faults, server.url, name="site-b")
    a.start()
    b.start()
    try:
        wait_until(lambda: len(a.constraints()) == 1 and len(b.constraints()) == 2, 5,
                   "events at both VENs")
        assert a.constraints()[0].event_id == "all-price"
        assert {c.event_id for c in b.constraints()} == {"all-price", "only-b"}
        assert b.site_limit_kw_at(dt.datetime.now(dt.UTC)) == 55.0
        wait_until(lambda: len(server.opt_responses.get("all-price", {})) == 2, 3, "opts")
    finally:
        a.stop()
        b.stop()
        loop.run(server.stop(), 5)


def test_vtn_restart_disconnected_then_reregistered(loop, faults):
    port = free_port()
    first = Vtn(port=port, poll_interval_s=POLL_S)
    loop.run(first.start(), 5)
    second = Vtn(port=port, poll_interval_s=POLL_S)  # will know nothing of site-1
    bridge = make_ven(loop, faults, first.url)
    bridge.start()
    try:
        wait_until(lambda: bridge.registered, 5, "registration")
        loop.run(first.stop(), 5)
        # three silent polls plus the policy timeout: 3 * 0.5 + 1.0 s
        wait_until(lambda: "disconnected" in faults.kinds("site-1"), 6, "disconnected")
        loop.run(second.start(), 5)
        wait_until(lambda: "site-1" in second.vens, 5, "re-registration with the new VTN")
        assert faults.kinds("site-1") == ["disconnected", "reconnected"]
        bridge.set_site_power_kw(3.5)
        event = second.add_event(signal_name="LOAD_DISPATCH", signal_type="setpoint",
                                 intervals=[{"start": 0, "duration_s": 60, "value": 12.0}])
        wait_until(lambda: event in second.opt_responses, 5, "the event at the new VTN")
        wait_until(lambda: any(r.p_kw == 3.5 for r in second.reports), 4, "a report")
    finally:
        bridge.stop()
        loop.run(first.stop(), 5)
        loop.run(second.stop(), 5)
