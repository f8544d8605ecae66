"""Digital-twin mode: the latest sensor readings of a real site, from MQTT.

:class:`MqttFeed` subscribes to ``cariflex/sensors/+/+/power`` (or given topic filters)
and keeps, per ``(asset_type, asset_id)`` and unit, the newest accepted reading with
its receive time. Each message is checked in turn; the first failed check rejects it
(it is not applied) and is recorded in the :class:`hil.base.FaultLog`:

1. ``malformed``: topic or payload off the format (:mod:`hil.mqtt.codec`); the fault's
   asset id is the topic's asset id when the topic parses, else the whole topic.
2. ``clock_skew``: the payload's timestamp is more than ``policy.max_clock_skew_s``
   from the receive time. Such a reading is **dropped**: a timestamp far in the past is
   old data (a retained message, a backlog replayed after a reconnection) that would
   hide a silent device from the watchdog, and one in the future comes from a clock
   nobody can trust. A device with a wrong clock therefore goes stale and the
   watchdog's hold -> fallback takes over, which is the safe and visible side.
3. ``out_of_range``: outside the :class:`AssetBounds` of its asset type (types with no
   bounds are not range-checked).

A fault is recorded once per episode: again only after that asset has had a reading
accepted (or, for the link, after the link came back). Every rejected message is
counted in :attr:`MqttFeed.rejected`. A reading older (by timestamp) than the one kept
is ignored (counted as ``superseded``), so a QoS 1 redelivery cannot step back in time.

Link faults (asset id ``name``): ``connection_refused`` while the first connection
fails (paho keeps retrying with the policy's backoff), ``disconnected`` when an
established link goes, ``reconnected`` when it is back; the subscriptions are renewed
on every connection.

Sign convention: values as in the payload, twin convention, positive = consumption /
charging / import (PV production negative).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from hil.base import FaultLog, FaultPolicy
from hil.mqtt.client import LinkMonitor, check_endpoint, make_client
from hil.mqtt.codec import SENSOR_WILDCARD, MalformedMessage, Reading, decode, parse_topic


@dataclass(frozen=True)
class AssetBounds:
    """Plausible ranges for one asset type, inclusive.

    Attributes
    ----------
    p_kw : (float, float) or None
        ``(min, max)`` of power readings. [kW]
    e_kwh : (float, float) or None
        ``(min, max)`` of stored-energy readings. [kWh]
    """

    p_kw: tuple[float, float] | None = None
    e_kwh: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        for name in ("p_kw", "e_kwh"):
            rng = getattr(self, name)
            if rng is None:
                continue
            ok = (isinstance(rng, tuple) and len(rng) == 2
                  and all(isinstance(v, int | float) and math.isfinite(v) for v in rng)
                  and rng[0] <= rng[1])
            if not ok:
                raise ValueError(f"bounds {name} {rng!r} is not allowed: need (min, max) "
                                 "finite numbers with min <= max")

    @classmethod
    def symmetric(cls, p_kw_max: float, e_kwh_max: float | None = None) -> AssetBounds:
        """``|p_kw| <= p_kw_max`` and, when given, ``0 <= e_kwh <= e_kwh_max``."""
        return cls((-p_kw_max, p_kw_max), None if e_kwh_max is None else (0.0, e_kwh_max))

    def violation(self, reading: Reading) -> str | None:
        """Why ``reading`` is out of range, or None when it is within."""
        name = reading.attribute
        rng = self.p_kw if name == "p_kw" else self.e_kwh
        if rng is None or rng[0] <= reading.value <= rng[1]:
            return None
        return (f"{name} {reading.value:g} is outside [{rng[0]:g}, {rng[1]:g}] allowed for "
                f"{reading.asset_type}")


@dataclass(frozen=True)
class Received:
    """An accepted reading and when it arrived (monotonic and UTC wall time)."""

    reading: Reading
    t_mono: float
    t_recv_utc: dt.datetime

    def age_s(self, now_mono: float | None = None) -> float:
        """Seconds since it arrived. [s]"""
        return (time.monotonic() if now_mono is None else now_mono) - self.t_mono


class MqttFeed:
    """Latest readings per asset from the MQTT sensor topics.

    Parameters
    ----------
    faults : FaultLog
        Where faults go.
    policy : FaultPolicy, optional
        ``max_clock_skew_s`` and the reconnect backoff bounds.
    host, port : str, int
        The broker (default the local Mosquitto, 127.0.0.1:1883).
    topics : iterable of str
        Topic filters to subscribe to (default ``cariflex/sensors/+/+/power``).
    bounds : mapping of asset type to AssetBounds, optional
        Plausible ranges; a reading outside is an ``out_of_range`` fault.
    qos : int, default 1
        Subscription QoS, 0 or 1.
    name : str, optional
        Asset id of the link's faults (default ``mqtt@host:port``).

    Call :meth:`start` (non-blocking) then read :meth:`latest`; :meth:`stop` at the end.
    """

    def __init__(self, faults: FaultLog, policy: FaultPolicy | None = None, *,
                 host: str = "127.0.0.1", port: int = 1883,
                 topics: Iterable[str] = (SENSOR_WILDCARD,),
                 bounds: Mapping[str, AssetBounds] | None = None, qos: int = 1,
                 name: str | None = None, client_id: str | None = None,
                 keepalive_s: int = 30):
        check_endpoint(host, port, qos)
        self.topics = tuple(topics)
        for topic in self.topics:
            if not isinstance(topic, str) or not topic or "\0" in topic:
                raise ValueError(f"topics entry {topic!r} is not allowed: need a non-empty "
                                 "MQTT topic filter")
        if not self.topics:
            raise ValueError("topics () is not allowed: need at least one topic filter")
        self.bounds = dict(bounds or {})
        for asset_type, bnd in self.bounds.items():
            if not isinstance(bnd, AssetBounds):
                raise ValueError(f"bounds[{asset_type!r}] {bnd!r} is not allowed: need an "
                                 "AssetBounds")
        self.faults, self.policy = faults, policy or FaultPolicy()
        self.host, self.port, self.qos, self.keepalive_s = host, port, qos, keepalive_s
        self.name = name or f"mqtt@{host}:{port}"
        self.rejected: Counter[str] = Counter()
        self.accepted = 0
        self._latest: dict[tuple[str, str], dict[str, Received]] = {}
        self._open: set[tuple[str, str]] = set()  # (fault asset id, kind) episodes open
        self._cond = threading.Condition()
        self._listeners: list[Callable[[Received], None]] = []
        self._up_hooks: list[Callable[[], None]] = []
        self._client = make_client("cariflex-feed", client_id, self.policy)
        self.link = LinkMonitor(self._client, self.name, faults, on_up=self._on_up)
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._subscribed = threading.Event()  # SUBACK of the current connection received
        self._sub_mid: int | None = None
        self._started = False

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Begin connecting (non-blocking, idempotent); paho retries until :meth:`stop`."""
        if self._started:
            return
        self._started = True
        self._client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        self._client.loop_start()

    def wait_connected(self, timeout_s: float = 5.0) -> bool:
        """Wait until connected and the broker acknowledged the subscriptions."""
        deadline = time.monotonic() + timeout_s
        return self.link.connected.wait(timeout_s) \
            and self._subscribed.wait(max(0.0, deadline - time.monotonic()))

    @property
    def connected(self) -> bool:
        return self.link.connected.is_set()

    def stop(self) -> None:
        """Disconnect and stop the network thread (blocking, about 1 s at most)."""
        if not self._started:
            return
        self.link.stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        self._started = False

    # -- reading ---------------------------------------------------------------------
    def latest(self, asset_type: str, asset_id: str) -> dict[str, Received]:
        """The newest accepted reading per unit (``"kW"``, ``"kWh"``) of one asset."""
        with self._cond:
            return dict(self._latest.get((asset_type, asset_id), {}))

    def assets(self) -> list[tuple[str, str]]:
        """``(asset_type, asset_id)`` of every asset with an accepted reading."""
        with self._cond:
            return sorted(self._latest)

    def wait_for(self, asset_type: str, asset_id: str, unit: str = "kW",
                 after_mono: float = -math.inf, timeout_s: float = 5.0) -> Received | None:
        """Wait for a reading of that unit received after ``after_mono``; None on timeout."""
        deadline = time.monotonic() + timeout_s

        def fresh() -> Received | None:
            got = self._latest.get((asset_type, asset_id), {}).get(unit)
            return got if got is not None and got.t_mono > after_mono else None

        with self._cond:
            while (got := fresh()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return got

    def add_listener(self, fn: Callable[[Received], None]) -> None:
        """Call ``fn(received)`` in paho's thread for every accepted reading (keep it short)."""
        self._listeners.append(fn)

    def add_on_connect(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` in paho's thread after every successful (re)connection."""
        self._up_hooks.append(fn)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> mqtt.MQTTMessageInfo:
        """Publish through the feed's connection (the bridges' setpoints use it)."""
        return self._client.publish(topic, payload, qos, retain=False)

    # -- paho callbacks (paho's thread) ----------------------------------------------
    def _on_up(self) -> None:
        self._subscribed.clear()
        self._sub_mid = self._client.subscribe([(topic, self.qos) for topic in self.topics])[1]
        for hook in list(self._up_hooks):
            hook()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if mid == self._sub_mid:
            self._subscribed.set()

    def _reject(self, asset_id: str, kind: str, detail: str) -> None:
        self.rejected[kind] += 1
        with self._cond:
            new = (asset_id, kind) not in self._open
            self._open.add((asset_id, kind))
        if new:
            self.faults.record(asset_id, kind, detail)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        t_mono, t_utc = time.monotonic(), dt.datetime.now(dt.UTC)
        topic = message.topic
        try:
            reading = decode(topic, message.payload)
        except MalformedMessage as exc:
            try:
                who = parse_topic(topic)[1]
            except MalformedMessage:
                who = topic
            self._reject(who, "malformed", f"{topic}: {exc}")
            return
        skew_s = (reading.timestamp - t_utc).total_seconds()
        if abs(skew_s) > self.policy.max_clock_skew_s:
            self._reject(reading.asset_id, "clock_skew",
                         f"{topic}: timestamp {reading.timestamp.isoformat()} is {skew_s:+.1f} s "
                         f"from the receive time; allowed +-{self.policy.max_clock_skew_s:g} s;"
                         " dropped")
            return
        bounds = self.bounds.get(reading.asset_type)
        why = bounds.violation(reading) if bounds is not None else None
        if why is not None:
            self._reject(reading.asset_id, "out_of_range", f"{topic}: {why}")
            return
        received = Received(reading, t_mono, t_utc)
        key = (reading.asset_type, reading.asset_id)
        with self._cond:
            kept = self._latest.setdefault(key, {}).get(reading.unit)
            if kept is not None and reading.timestamp < kept.reading.timestamp:
                self.rejected["superseded"] += 1
                return
            self._latest[key][reading.unit] = received
            self.accepted += 1
            self._open = {k for k in self._open if k[0] != reading.asset_id}
            self._cond.notify_all()
        for fn in list(self._listeners):
            fn(received)
