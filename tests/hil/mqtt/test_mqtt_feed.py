"""MqttFeed through the real Mosquitto on 127.0.0.1:1883 with the real paho client."""

import datetime as dt
import json
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hil.base import FaultLog, FaultPolicy
from hil.mqtt import AssetBounds, MqttFeed, MqttPublisher, Reading, encode, topic_for
from hil.mqtt.testing import unique

pytestmark = pytest.mark.service
MQ = dt.timezone(dt.timedelta(hours=-4))  # America/Martinique


@pytest.fixture
def raw(broker):
    """A bare paho client to send what the publisher refuses to encode."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("raw"))
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def make_feed(faults, topics, **kw):
    feed = MqttFeed(faults, kw.pop("policy", FaultPolicy()), topics=topics, **kw)
    feed.start()
    assert feed.wait_connected(5), "feed did not connect to 127.0.0.1:1883"
    return feed


def send(raw, topic, payload):
    raw.publish(topic, payload, qos=1).wait_for_publish(2)


@pytest.mark.parametrize("qos", [0, 1])
def test_feed_round_trip_several_assets(broker, qos):
    faults = FaultLog()
    feed = make_feed(faults, ["cariflex/sensors/+/+/power"])  # the production wildcard
    pub = MqttPublisher(qos=qos)
    try:
        assert pub.wait_connected(5)
        site = unique("site")
        t = dt.datetime.now(MQ).replace(microsecond=250_000)
        step = {("pv", f"{site}-pv1"): (-4.75, "kW"), ("battery", f"{site}-b1"): (2.5, "kW"),
                ("ev_charger", f"{site}-cp1"): (7.4, "kW"), ("load", f"{site}-h1"): (1.125, "kW")}
        t0 = time.monotonic()
        pub.publish_step(t, step)
        pub.publish("battery", f"{site}-b1", 41.5, "kWh", t)
        for (asset_type, asset_id), (value, unit) in step.items():
            got = feed.wait_for(asset_type, asset_id, unit, after_mono=t0, timeout_s=3)
            assert got is not None, f"{asset_type}/{asset_id} never arrived"
            assert got.reading == Reading(asset_type, asset_id, value, unit, t)
            assert got.t_mono >= t0
        energy = feed.wait_for("battery", f"{site}-b1", "kWh", timeout_s=3)
        assert energy is not None and energy.reading.value == 41.5
        assert set(feed.latest("battery", f"{site}-b1")) == {"kW", "kWh"}
        assert [f for f in faults.all() if site in f.asset_id] == []
    finally:
        pub.close()
        feed.stop()


def test_feed_malformed_recorded_not_applied_and_feed_keeps_working(broker, raw):
    faults, kind = FaultLog(), unique("pv")
    feed = make_feed(faults, [f"cariflex/sensors/{kind}/#"])
    now = dt.datetime.now(dt.UTC).isoformat()
    bad = {
        "json": b'{"value": 1.0, "unit": "kW"',
        "novalue": json.dumps({"unit": "kW", "timestamp": now}).encode(),
        "unit": json.dumps({"value": 1.0, "unit": "MW", "timestamp": now}).encode(),
        "naive": json.dumps({"value": 1.0, "unit": "kW",
                             "timestamp": "2024-06-01T12:00:00"}).encode(),
        "nan": b'{"value": NaN, "unit": "kW", "timestamp": "%s"}' % now.encode(),
    }
    try:
        for name, payload in bad.items():
            send(raw, topic_for(kind, name), payload)
        send(raw, f"cariflex/sensors/{kind}/x/energy", encode(1.0, "kW", dt.datetime.now(dt.UTC)))
        t0 = time.monotonic()
        send(raw, topic_for(kind, "good"), encode(-2.0, "kW", dt.datetime.now(dt.UTC)))
        assert feed.wait_for(kind, "good", after_mono=t0, timeout_s=3) is not None
        for name in bad:
            assert faults.kinds(name) == ["malformed"], name
            assert feed.latest(kind, name) == {}
        details = {f.asset_id: f.detail for f in faults.all()}
        assert "field 'value' is missing" in details["novalue"]
        assert "'MW' is not one of kW, kWh" in details["unit"]
        assert "has no UTC offset" in details["naive"]
        assert "NaN is not allowed" in details["nan"]
        assert faults.kinds(f"cariflex/sensors/{kind}/x/energy") == ["malformed"]
        assert feed.rejected["malformed"] == 6 and feed.accepted == 1
        assert feed.assets() == [(kind, "good")]
    finally:
        feed.stop()


def test_feed_fault_once_per_episode_until_a_good_reading(broker, raw):
    faults, kind = FaultLog(), unique("load")
    feed = make_feed(faults, [f"cariflex/sensors/{kind}/#"])
    topic = topic_for(kind, "h1")
    try:
        send(raw, topic, b"garbage")
        send(raw, topic, b"more garbage")
        send(raw, topic, encode(0.8, "kW", dt.datetime.now(dt.UTC)))
        send(raw, topic, b"garbage again")
        send(raw, topic_for(kind, "end"), encode(0.1, "kW", dt.datetime.now(dt.UTC)))
        assert feed.wait_for(kind, "end", timeout_s=3) is not None
        assert faults.kinds("h1") == ["malformed", "malformed"]
        assert feed.rejected["malformed"] == 3
        assert feed.latest(kind, "h1")["kW"].reading.value == 0.8
    finally:
        feed.stop()


def test_feed_clock_skew_detected_and_dropped(broker, raw):
    faults, kind = FaultLog(), unique("pv")
    feed = make_feed(faults, [f"cariflex/sensors/{kind}/#"],
                     policy=FaultPolicy(max_clock_skew_s=2.0))
    topic, now = topic_for(kind, "inv1"), dt.datetime.now(dt.UTC)
    try:
        send(raw, topic, encode(-5.0, "kW", now - dt.timedelta(seconds=60)))
        send(raw, topic, encode(-6.0, "kW", now + dt.timedelta(seconds=60)))
        send(raw, topic_for(kind, "inv2"), encode(-1.0, "kW", now.astimezone(MQ)))
        assert feed.wait_for(kind, "inv2", timeout_s=3) is not None  # 0 s skew, other zone
        assert faults.kinds("inv1") == ["clock_skew"]  # one episode, two messages
        assert feed.rejected["clock_skew"] == 2
        assert "-60." in faults.all()[0].detail and "allowed +-2 s" in faults.all()[0].detail
        assert feed.latest(kind, "inv1") == {}  # dropped, not applied
        send(raw, topic, encode(-7.0, "kW", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        got = feed.wait_for(kind, "inv1", timeout_s=3)
        assert got is not None and got.reading.value == -7.0
        assert faults.kinds("inv2") == []
    finally:
        feed.stop()


def test_feed_out_of_range_per_asset_type(broker, raw):
    faults, pv, bat = FaultLog(), unique("pv"), unique("battery")
    bounds = {pv: AssetBounds(p_kw=(-10.0, 0.5)), bat: AssetBounds.symmetric(5.0, 100.0)}
    feed = make_feed(faults, [f"cariflex/sensors/{pv}/#", f"cariflex/sensors/{bat}/#"],
                     bounds=bounds)
    now = dt.datetime.now(dt.UTC)
    try:
        send(raw, topic_for(pv, "a"), encode(-10.5, "kW", now))
        send(raw, topic_for(pv, "b"), encode(3.0, "kW", now))  # PV cannot consume 3 kW
        send(raw, topic_for(bat, "c"), encode(120.0, "kWh", now))
        send(raw, topic_for(bat, "c"), encode(-5.0, "kW", now))  # on the bound: kept
        got = feed.wait_for(bat, "c", "kW", timeout_s=3)
        assert got is not None and got.reading.value == -5.0
        assert [(f.asset_id, f.kind) for f in faults.all()] == [
            ("a", "out_of_range"), ("b", "out_of_range"), ("c", "out_of_range")]
        assert "p_kw -10.5 is outside [-10, 0.5]" in faults.all()[0].detail
        assert "e_kwh 120 is outside [0, 100]" in faults.all()[2].detail
        assert feed.latest(pv, "a") == {} and "kWh" not in feed.latest(bat, "c")
    finally:
        feed.stop()


def test_feed_older_reading_does_not_replace_newer(broker, raw):
    faults, kind = FaultLog(), unique("ev")
    feed = make_feed(faults, [f"cariflex/sensors/{kind}/#"])
    now = dt.datetime.now(dt.UTC)
    try:
        send(raw, topic_for(kind, "cp"), encode(7.0, "kW", now))
        send(raw, topic_for(kind, "cp"), encode(3.0, "kW", now - dt.timedelta(seconds=1)))
        send(raw, topic_for(kind, "end"), encode(0.0, "kW", now))
        assert feed.wait_for(kind, "end", timeout_s=3) is not None
        assert feed.latest(kind, "cp")["kW"].reading.value == 7.0
        assert feed.rejected["superseded"] == 1 and faults.all() == []
    finally:
        feed.stop()


@pytest.mark.parametrize(("kw", "message"), [
    ({"port": 0}, "port 0 is not allowed"),
    ({"qos": 2}, "qos 2 is not one of 0, 1"),
    ({"topics": []}, "topics () is not allowed"),
    ({"bounds": {"pv": (0, 1)}}, "bounds['pv'] (0, 1) is not allowed"),
])
def test_feed_rejects_bad_configuration(kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        MqttFeed(FaultLog(), **kw)


def test_asset_bounds_reject_inverted_range():
    with pytest.raises(ValueError, match=r"bounds p_kw \(5, -5\) is not allowed"):
        AssetBounds(p_kw=(5, -5))
