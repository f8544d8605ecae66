"""Broker outages: a private Mosquitto on 127.0.0.1 and a free port, killed and restarted."""

import datetime as dt
import time

import pytest

from hil.base import FaultLog, FaultPolicy
from hil.mqtt import MqttFeed, MqttPublisher
from hil.mqtt.testing import PrivateBroker, free_port, mosquitto_binary

pytestmark = pytest.mark.service
FAST = FaultPolicy(backoff_initial_s=0.1, backoff_max_s=0.4)


@pytest.fixture(scope="module")
def mosquitto():
    if mosquitto_binary() is None:
        pytest.fail("the mosquitto executable is needed for the private-broker tests "
                    "(looked on PATH and in /usr/sbin); install mosquitto")


def wait_until(predicate, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def publish_and_receive(pub, feed, asset_id, value):
    t0 = time.monotonic()
    pub.publish("pv", asset_id, value, "kW", dt.datetime.now(dt.UTC))
    return feed.wait_for("pv", asset_id, after_mono=t0, timeout_s=3)


def test_feed_records_outage_reconnects_and_resubscribes(mosquitto):
    faults = FaultLog()
    with PrivateBroker() as broker:
        feed = MqttFeed(faults, FAST, port=broker.port, name="site")
        pub = MqttPublisher(port=broker.port, qos=0, policy=FAST)
        try:
            feed.start()
            assert feed.wait_connected(5) and pub.wait_connected(5)
            got = publish_and_receive(pub, feed, "inv1", -1.0)
            assert got is not None and got.reading.value == -1.0
            broker.stop()  # SIGKILL: the broker crashes
            assert wait_until(lambda: "disconnected" in faults.kinds("site"))
            assert not feed.connected
            time.sleep(0.5)  # a few failed reconnection attempts
            assert faults.kinds("site") == ["disconnected"]  # one fault for the episode
            broker.start()
            assert wait_until(lambda: "reconnected" in faults.kinds("site"))
            assert feed.wait_connected(5) and pub.wait_connected(5)
            # a fresh broker has no subscriptions: receiving proves the resubscription
            got = publish_and_receive(pub, feed, "inv1", -2.0)
            assert got is not None and got.reading.value == -2.0
            assert faults.kinds("site") == ["disconnected", "reconnected"]
            assert feed.link.connects == 2
        finally:
            pub.close()
            feed.stop()


def test_feed_connection_refused_at_start_keeps_retrying(mosquitto):
    faults, port = FaultLog(), free_port()
    feed = MqttFeed(faults, FAST, port=port, name="site")
    broker = PrivateBroker(port)
    try:
        feed.start()
        assert wait_until(lambda: faults.kinds("site") == ["connection_refused"])
        assert f"127.0.0.1:{port} refused or unreachable" in faults.all()[0].detail
        time.sleep(0.5)
        assert faults.kinds("site") == ["connection_refused"] and not feed.connected
        broker.start()
        assert feed.wait_connected(5)
        assert faults.kinds("site") == ["connection_refused", "reconnected"]
        pub = MqttPublisher(port=port, qos=1)
        try:
            assert pub.wait_connected(5)
            got = publish_and_receive(pub, feed, "inv2", -3.0)
            assert got is not None and got.reading.value == -3.0
        finally:
            pub.close()
    finally:
        feed.stop()
        broker.close()


def test_publisher_qos1_queues_during_outage_and_qos0_drops(mosquitto):
    faults = FaultLog()
    # the publisher retries every 1 s, the feed every 0.1 s: after the broker is back the
    # feed is subscribed before the publisher delivers its queue
    slow = FaultPolicy(backoff_initial_s=1.0, backoff_max_s=1.0)
    with PrivateBroker() as broker:
        feed = MqttFeed(FaultLog(), FaultPolicy(backoff_initial_s=0.1, backoff_max_s=0.1),
                        port=broker.port)
        q1 = MqttPublisher(port=broker.port, qos=1, policy=slow, faults=faults, name="q1")
        q0 = MqttPublisher(port=broker.port, qos=0, policy=slow, faults=faults, name="q0")
        try:
            feed.start()
            assert feed.wait_connected(5) and q1.wait_connected(5) and q0.wait_connected(5)
            broker.stop()
            assert wait_until(lambda: not q1.link.connected.is_set()
                              and not q0.link.connected.is_set())
            now = dt.datetime.now(dt.UTC)
            q1.publish("pv", "queued", -4.0, "kW", now)
            q0.publish("pv", "lost", -4.0, "kW", now)
            assert q0.dropped == 1 and q1.dropped == 0
            assert wait_until(lambda: q1.link.failed_attempts >= 1)  # next attempt in 1 s
            broker.start()
            assert feed.wait_connected(0.8)
            assert not q1.link.connected.is_set()
            got = feed.wait_for("pv", "queued", timeout_s=5)
            assert got is not None and got.reading.value == -4.0
            assert q1.flush(3)
            assert feed.latest("pv", "lost") == {}
            assert faults.kinds("q1") == ["disconnected", "reconnected"]
        finally:
            q1.close()
            q0.close()
            feed.stop()
