"""MqttSensorBridge: measurement from the feed, setpoints out, the watchdog on silence."""

import datetime as dt
import queue
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hil.base import FaultLog, FaultPolicy, Watchdog
from hil.mqtt import MqttFeed, MqttPublisher, MqttSensorBridge, decode, topic_for
from hil.mqtt.testing import unique

MQ = dt.timezone(dt.timedelta(hours=-4))  # America/Martinique


@pytest.fixture
def site(broker):
    """A feed on a random asset type, a publisher playing the site, and the fault log."""
    faults, asset_type = FaultLog(), unique("battery")
    policy = FaultPolicy(stale_after_s=0.3, hold_s=0.4)
    feed = MqttFeed(faults, policy, topics=[f"cariflex/sensors/{asset_type}/#"])
    pub = MqttPublisher(qos=1)
    yield faults, policy, feed, pub, asset_type
    pub.close()
    feed.stop()


def wait_until(predicate, timeout_s=3.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.service
def test_bridge_measurement_from_kw_and_kwh_readings(site):
    faults, policy, feed, pub, asset_type = site
    bridge = MqttSensorBridge("b1", None, faults, policy, feed, asset_type, "battery",
                              capacity_kwh=50.0)
    bridge.start()
    assert feed.wait_connected(5)
    assert bridge.latest() is None
    now = dt.datetime.now(MQ)
    pub.publish(asset_type, "b1", -3.5, "kW", now)  # discharging: negative
    pub.publish(asset_type, "b1", 20.0, "kWh", now)
    assert feed.wait_for(asset_type, "b1", "kWh", timeout_s=3) is not None
    assert feed.wait_for(asset_type, "b1", "kW", timeout_s=3) is not None
    m = bridge.latest()
    assert m.values == {"p_kw": -3.5, "e_kwh": 20.0, "soc_percent": 40.0}
    assert m.t_mono == feed.latest(asset_type, "b1")["kW"].t_mono
    assert 0 <= m.age_s() < 1


@pytest.mark.service
def test_bridge_setpoint_arrives_on_setpoint_topic(site):
    faults, policy, feed, _pub, asset_type = site
    bridge = MqttSensorBridge("cp1", None, faults, policy, feed, asset_type, "ev_charger",
                              p_max_kw=11.0)
    got: queue.Queue = queue.Queue()
    subscribed = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("sub"))
    sub.on_message = lambda c, u, msg: got.put((msg.topic, msg.payload))
    sub.on_subscribe = lambda *args: subscribed.set()
    sub.connect("127.0.0.1", 1883)
    sub.loop_start()
    try:
        sub.subscribe(f"cariflex/setpoints/{asset_type}/+/power", qos=1)
        assert subscribed.wait(3)
        t0 = dt.datetime.now(dt.UTC)
        bridge.request(7.4)  # before the link is up: kept, sent once connected
        assert bridge.setpoints_sent == 0
        bridge.start()
        assert feed.wait_connected(5)
        assert wait_until(lambda: bridge.setpoints_sent == 1)
        bridge.request(-22.0)  # clamped to -p_max_kw
        first, second = got.get(timeout=3), got.get(timeout=3)
    finally:
        sub.disconnect()
        sub.loop_stop()
    assert first[0] == topic_for(asset_type, "cp1", "setpoints") == bridge.setpoint_topic
    r1, r2 = (decode(t, p, channel="setpoints") for t, p in (first, second))
    assert (r1.value, r1.unit, r2.value) == (7.4, "kW", -11.0)
    assert abs((r1.timestamp - t0).total_seconds()) < 2
    assert bridge.setpoint_kw == -11.0 and bridge.setpoints_sent == 2


@pytest.mark.service
def test_bridge_stale_asset_drives_watchdog_hold_then_fallback(site):
    faults, policy, feed, pub, asset_type = site
    bridge = MqttSensorBridge("pv9", None, faults, policy, feed, asset_type, "pv")
    watchdog = Watchdog("pv9", policy, faults)
    bridge.start()
    assert feed.wait_connected(5)
    assert watchdog.update(None) == "hold"  # never measured yet
    pub.publish(asset_type, "pv9", -2.0, "kW", dt.datetime.now(dt.UTC))
    assert wait_until(lambda: bridge.latest() is not None)
    assert watchdog.update(bridge.latest().age_s()) == "fresh"
    # the site goes silent: stale after 0.3 s -> hold, then fallback 0.4 s later
    assert wait_until(lambda: watchdog.update(bridge.latest().age_s()) == "hold")
    assert wait_until(lambda: watchdog.update(bridge.latest().age_s()) == "fallback")
    t0 = time.monotonic()
    pub.publish(asset_type, "pv9", -1.5, "kW", dt.datetime.now(dt.UTC))
    assert feed.wait_for(asset_type, "pv9", after_mono=t0, timeout_s=3) is not None
    assert watchdog.update(bridge.latest().age_s()) == "fresh"
    assert faults.kinds("pv9") == ["stale", "hold", "reconnected",  # first reading
                                   "stale", "hold", "fallback", "reconnected"]


@pytest.mark.parametrize(("kw", "message"), [
    ({"kind": "heat_pump"}, "kind 'heat_pump' is not one of pv, battery, ev_charger, load"),
    ({"asset_type": "a/b"}, "asset_type 'a/b' is not allowed"),
    ({"capacity_kwh": 0}, "capacity_kwh 0 is not allowed: need a finite number > 0"),
    ({"p_max_kw": float("nan")}, "p_max_kw nan is not allowed"),
    ({"setpoint_qos": 2}, "setpoint_qos 2 is not one of 0, 1"),
])
def test_bridge_rejects_bad_configuration(kw, message):
    faults = FaultLog()
    args = {"kind": "pv", "asset_type": "pv", **kw}
    feed = MqttFeed(faults)  # not started: no connection needed
    with pytest.raises(ValueError, match=message):
        MqttSensorBridge("x", None, faults, None, feed, args.pop("asset_type"),
                         args.pop("kind"), **args)


def test_bridge_request_rejects_non_finite_setpoint():
    faults = FaultLog()
    bridge = MqttSensorBridge("x", None, faults, None, MqttFeed(faults), "pv", "pv")
    with pytest.raises(ValueError, match="p_set_kw inf is not allowed: need a finite number"):
        bridge.request(float("inf"))
    bridge.request(3.0)  # link not up: kept, sent when the feed connects
    assert bridge.setpoint_kw == 3.0 and bridge.setpoints_sent == 0
