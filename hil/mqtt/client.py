"""paho-mqtt plumbing shared by the feed and the publisher, and :class:`MqttPublisher`.

Each object owns one paho client (``CallbackAPIVersion.VERSION2``, MQTT 3.1.1, clean
session) whose network thread is paho's ``loop_start``. paho reconnects by itself
after a loss, waiting ``policy.backoff_initial_s`` doubling up to ``policy.backoff_max_s``
(``reconnect_delay_set``); :class:`LinkMonitor` records the link's faults.

Sign convention: values are published as given, in the twin's convention, positive =
consumption / charging / import (PV production negative).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Mapping

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hil.base import FaultLog, FaultPolicy
from hil.mqtt.codec import encode, topic_for

QOS_ALLOWED = (0, 1)


def check_endpoint(host: str, port: int, qos: int) -> None:
    """Validate the broker address and QoS at the edge, naming the bad field."""
    if not isinstance(host, str) or not host:
        raise ValueError(f"host {host!r} is not allowed: need a non-empty host name")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"port {port!r} is not allowed: need an integer in 1..65535")
    if qos not in QOS_ALLOWED:
        raise ValueError(f"qos {qos!r} is not one of {', '.join(map(str, QOS_ALLOWED))}")


def make_client(prefix: str, client_id: str | None, policy: FaultPolicy) -> mqtt.Client:
    """A paho client with a unique id and the policy's reconnect backoff."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2,
                         client_id=client_id or f"{prefix}-{uuid.uuid4().hex[:12]}",
                         protocol=mqtt.MQTTv311, clean_session=True)
    client.reconnect_delay_set(policy.backoff_initial_s, policy.backoff_max_s)
    client.max_queued_messages_set(10_000)  # bounded memory while the broker is away
    client.max_inflight_messages_set(100)  # paho's default, 20, halves a 40-asset step
    return client


class LinkMonitor:
    """Connection state of one paho client, with its faults recorded once per episode.

    - TCP refused / unreachable before the first connection, or a CONNACK refusal:
      ``connection_refused`` (paho keeps retrying);
    - an established link lost: ``disconnected``;
    - link up again after either: ``reconnected``.

    ``on_up`` hooks run in paho's thread on every successful connection (to subscribe).
    """

    def __init__(self, client: mqtt.Client, name: str, faults: FaultLog | None,
                 on_up: Callable[[], None] | None = None):
        self.name, self.faults, self._on_up = name, faults, on_up
        self.connected = threading.Event()
        self.stopping = False
        self.connects = 0  # successful connections so far
        self.failed_attempts = 0  # connection attempts that failed (refused, unreachable)
        self._faulted = False  # a fault episode is open
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail

    def _record(self, kind: str, detail: str) -> None:
        if self.faults is not None:
            self.faults.record(self.name, kind, detail)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if not self._faulted:
                self._record("connection_refused", f"broker refused: {reason_code}")
                self._faulted = True
            return
        if self._on_up is not None:
            self._on_up()
        if self._faulted:
            self._record("reconnected", f"link up again (connection {self.connects + 1})")
        self._faulted = False
        self.connects += 1
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_up = self.connected.is_set()
        self.connected.clear()
        if was_up and not self.stopping and not self._faulted:
            self._record("disconnected", f"link lost: {reason_code}; reconnecting with backoff")
            self._faulted = True

    def _on_connect_fail(self, client, userdata) -> None:
        self.failed_attempts += 1
        if self._faulted or self.stopping:
            return
        self._faulted = True
        self._record("connection_refused",
                     f"broker {client.host}:{client.port} refused or unreachable; retrying")


class MqttPublisher:
    """Publishes the twin's device outputs in the sensor format.

    Parameters
    ----------
    host, port : str, int
        The broker.
    qos : int, default 0
        0 (at most once) or 1 (at least once).
    retain : bool, default False
        Retained messages outlive the run on the broker; off unless asked for.
    faults : FaultLog, optional
        Where link faults go (asset id ``name``); none recorded without it.
    policy : FaultPolicy, optional
        Its backoff bounds set the reconnect delay.
    name : str, default "mqtt-publisher"
        The asset id of the link's faults.

    Connecting starts at construction and does not block; :meth:`wait_connected`
    waits for it. While the link is down, QoS 0 messages are dropped (counted in
    ``dropped``) and QoS 1 messages are queued by paho and sent on reconnection.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, *, qos: int = 0,
                 retain: bool = False, faults: FaultLog | None = None,
                 policy: FaultPolicy | None = None, name: str = "mqtt-publisher",
                 client_id: str | None = None, keepalive_s: int = 30):
        check_endpoint(host, port, qos)
        self.qos, self.retain, self.dropped = qos, bool(retain), 0
        self._client = make_client("cariflex-pub", client_id, policy or FaultPolicy())
        self.link = LinkMonitor(self._client, name, faults)
        # QoS 1 message ids not yet acknowledged; acks may beat publish() to the lock
        self._pending: set[int] = set()
        self._early_acks: set[int] = set()
        self._acked = threading.Condition()
        self._client.on_publish = self._on_publish
        self._client.connect_async(host, port, keepalive=keepalive_s)
        self._client.loop_start()

    def wait_connected(self, timeout_s: float = 5.0) -> bool:
        """Wait until the link is up; True when it is."""
        return self.link.connected.wait(timeout_s)

    def publish(self, asset_type: str, asset_id: str, value: float, unit: str,
                timestamp: dt.datetime, channel: str = "sensors") -> mqtt.MQTTMessageInfo:
        """Publish one reading (non-blocking).

        Parameters
        ----------
        asset_type, asset_id : str
            Topic parts.
        value : float
            Power [kW] or stored energy [kWh], twin sign.
        unit : str
            ``"kW"`` or ``"kWh"``.
        timestamp : datetime.datetime
            Timezone-aware measurement time.
        channel : str, default "sensors"
            ``"setpoints"`` for our setpoint extension.
        """
        info = self._client.publish(topic_for(asset_type, asset_id, channel),
                                    encode(value, unit, timestamp), self.qos, self.retain)
        if (info.rc == mqtt.MQTT_ERR_NO_CONN and self.qos == 0) \
                or info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            self.dropped += 1
        elif self.qos > 0:
            with self._acked:
                if info.mid in self._early_acks:
                    self._early_acks.discard(info.mid)
                else:
                    self._pending.add(info.mid)
        return info

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        if self.qos == 0:
            return
        with self._acked:
            if mid in self._pending:
                self._pending.discard(mid)
                if not self._pending:
                    self._acked.notify_all()
            else:
                self._early_acks.add(mid)

    def publish_step(self, timestamp: dt.datetime,
                     outputs: Mapping[tuple[str, str], tuple[float, str]]
                     ) -> list[mqtt.MQTTMessageInfo]:
        """Publish one step: ``{(asset_type, asset_id): (value, unit)}``, one timestamp."""
        return [self.publish(asset_type, asset_id, value, unit, timestamp)
                for (asset_type, asset_id), (value, unit) in outputs.items()]

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every QoS 1 message is acknowledged (also those queued during an
        outage and sent after it); True when all are."""
        with self._acked:
            return self._acked.wait_for(lambda: not self._pending, timeout_s)

    def close(self, timeout_s: float = 2.0) -> None:
        """Flush QoS 1 messages (bounded), disconnect and stop the network thread."""
        if self.link.connected.is_set():
            self.flush(timeout_s)
        self.link.stopping = True
        self._client.disconnect()
        self._client.loop_stop()
