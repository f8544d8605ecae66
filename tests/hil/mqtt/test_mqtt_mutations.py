"""Seeded mutations of MQTT sensor messages: the pure codec (every bad payload is a
MalformedMessage naming why, nothing else), then through the real Mosquitto on
127.0.0.1:1883 into an MqttFeed (every message accepted or rejected and counted, faults
recorded, no exception in paho's network thread, a good reading served afterwards)."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hil.base import FaultLog, FaultPolicy
from hil.mqtt import MqttFeed, encode
from hil.mqtt.codec import MAX_PAYLOAD_BYTES, MalformedMessage, decode
from hil.mqtt.testing import unique
from tests.hil.mutate import Mutator, dump
from tests.hil.ocpp.test_ocpp_mutations import tracebacks

TOPIC = "cariflex/sensors/pv/pv_00/power"
FOUND = [  # payloads the campaign found: an exception other than MalformedMessage before
    '{"value": ' + "9" * 400 + ', "unit": "kW", "timestamp": "2026-06-01T12:00:00Z"}',  # Overflow
    "[" * 1000,  # RecursionError
]


def _good(t: dt.datetime | None = None) -> dict:
    t = t or dt.datetime.now(dt.UTC)
    return {"value": -3.25, "unit": "kW", "timestamp": t.isoformat()}


@pytest.mark.parametrize("payload", FOUND)
def test_found_payloads_are_malformed_messages(payload):
    with pytest.raises(MalformedMessage):
        decode(TOPIC, payload)


def test_codec_mutations_raise_only_malformed_message():
    m, n_bad = Mutator(1883), 0
    for i in range(2000):
        payload = m.text(_good(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)))
        try:
            reading = decode(TOPIC, payload)
        except MalformedMessage as exc:
            n_bad += 1
            assert str(exc), f"mutation {i}: empty reason"
            continue
        except Exception as exc:  # noqa: BLE001 - what the test is looking for
            pytest.fail(f"mutation {i} ({m.describe()}): {exc!r} on {payload[:120]!r}")
        assert math.isfinite(reading.value) and reading.timestamp.utcoffset() is not None
        assert len(payload) <= MAX_PAYLOAD_BYTES
    assert n_bad > 1500  # most mutations break the format


@pytest.mark.service
def test_feed_through_mosquitto_survives_mutated_payloads(broker):
    faults, kind, n = FaultLog(), unique("pv"), 200
    uncaught: list = []
    old_hook, threading.excepthook = threading.excepthook, lambda args: uncaught.append(args)
    feed = MqttFeed(faults, FaultPolicy(), topics=[f"cariflex/sensors/{kind}/#"])
    raw = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("raw"))
    try:
        with tracebacks() as tbs:
            feed.start()
            assert feed.wait_connected(5)
            raw.connect("127.0.0.1", 1883)
            raw.loop_start()
            m = Mutator(1884)
            for i in range(n):
                topic = f"cariflex/sensors/{kind}/a{i % 7}/power"
                if i % 10 == 9:  # a bad topic under the subscription
                    topic = f"cariflex/sensors/{kind}/" + ("é", "a/b", "x" * 300)[i % 3] + "/power"
                raw.publish(topic, m.text(_good()), qos=1)
            raw.publish(f"cariflex/sensors/{kind}/last/power", dump(_good()), qos=1) \
                .wait_for_publish(3)
            got = feed.wait_for(kind, "last", "kW", timeout_s=5)
            deadline = time.monotonic() + 5
            while feed.accepted + sum(feed.rejected.values()) < n + 1 \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
        assert got is not None and got.reading.value == -3.25, "feed stopped serving"
        assert feed.accepted + sum(feed.rejected.values()) == n + 1, (feed.accepted, feed.rejected)
        assert feed.rejected["malformed"] > n // 2
        assert any(f.kind == "malformed" for f in faults.all())
        assert not uncaught and not tbs, (uncaught, [r.getMessage() for r in tbs][:3])
        assert feed.connected
    finally:
        threading.excepthook = old_hook
        raw.disconnect()
        raw.loop_stop()
        feed.stop()


def test_encode_refuses_what_decode_refuses():
    for value in (math.nan, math.inf, 10**400, True, "1"):
        with pytest.raises(ValueError, match="finite number"):
            encode(value, "kW", dt.datetime.now(dt.UTC))
