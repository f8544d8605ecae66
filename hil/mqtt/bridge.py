"""One asset of a real site seen through MQTT, as the simulator it replaces.

:class:`MqttSensorBridge` reads the asset's measurements from a shared
:class:`~hil.mqtt.feed.MqttFeed` (``p_kw`` from kW readings, ``e_kwh`` from kWh
readings, ``soc_percent`` from ``e_kwh`` when a capacity is given) and publishes the
twin's setpoint to ``cariflex/setpoints/{asset_type}/{asset_id}/power`` in the sensor
payload format with unit ``kW`` -- our extension of the seed format, which defines
sensor topics only.

Sign convention: positive = consumption / charging / import; a PV inverter's ``p_kw``
is negative, and so is a setpoint asking a battery to discharge.
"""

from __future__ import annotations

import datetime as dt
import math
import threading

import paho.mqtt.client as mqtt

from hil.base import BackgroundLoop, Bridge, FaultLog, FaultPolicy, Measurement
from hil.mqtt.client import QOS_ALLOWED
from hil.mqtt.codec import encode, topic_for
from hil.mqtt.feed import MqttFeed

KINDS = ("pv", "battery", "ev_charger", "load")


def _positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} {value!r} is not allowed: need a finite number > 0")
    return float(value)


class MqttSensorBridge(Bridge):
    """One asset behind the MQTT sensor feed.

    Parameters
    ----------
    asset_id : str
        The topic's asset id.
    loop : BackgroundLoop or None
        Kept for the :class:`~hil.base.Bridge` interface; paho runs its own network
        thread, so the bridge submits nothing to it.
    faults : FaultLog
    policy : FaultPolicy or None
    feed : MqttFeed
        Shared by the bridges of a site.
    asset_type : str
        The topic's asset type (e.g. ``"pv"``, ``"battery"``).
    kind : str
        ``pv``, ``battery``, ``ev_charger`` or ``load``.
    capacity_kwh : float, optional
        Usable capacity; with it, ``soc_percent = 100 * e_kwh / capacity_kwh``. [kWh]
    p_max_kw : float, optional
        Setpoints are clamped to ``[-p_max_kw, p_max_kw]``. [kW]
    setpoint_qos : int, default 1
    owns_feed : bool, default False
        When True, :meth:`stop` also stops the feed.

    The measurement's time (what the watchdog ages) is the receive time of the latest
    kW reading, or of the latest kWh reading when the asset sends no power.
    """

    def __init__(self, asset_id: str, loop: BackgroundLoop | None, faults: FaultLog,
                 policy: FaultPolicy | None, feed: MqttFeed, asset_type: str, kind: str, *,
                 capacity_kwh: float | None = None, p_max_kw: float | None = None,
                 setpoint_qos: int = 1, owns_feed: bool = False):
        if kind not in KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if not isinstance(feed, MqttFeed):
            raise ValueError(f"feed {feed!r} is not allowed: need an MqttFeed")
        if setpoint_qos not in QOS_ALLOWED:
            raise ValueError(f"setpoint_qos {setpoint_qos!r} is not one of "
                             f"{', '.join(map(str, QOS_ALLOWED))}")
        self.setpoint_topic = topic_for(asset_type, asset_id, "setpoints")  # checks the parts
        super().__init__(asset_id, loop, faults, policy)  # type: ignore[arg-type]
        self.kind, self.asset_type, self.feed = kind, asset_type, feed
        self.capacity_kwh = _positive("capacity_kwh", capacity_kwh)
        self.p_max_kw = _positive("p_max_kw", p_max_kw)
        self.setpoint_qos, self.owns_feed = setpoint_qos, owns_feed
        self.setpoints_sent = 0
        self._pending = False  # a setpoint not yet handed to a live link
        self._lock = threading.Lock()
        self._hooked = False

    def start(self) -> None:
        """Start the feed if needed (idempotent, non-blocking)."""
        if not self._hooked:
            self.feed.add_on_connect(self._resend)
            self._hooked = True
        self.feed.start()

    def stop(self) -> None:
        """Stop sending setpoints; stop the feed too when the bridge owns it."""
        with self._lock:
            self._pending = False
        if self.owns_feed:
            self.feed.stop()

    def latest(self) -> Measurement | None:
        """The asset's measurement from the feed's newest readings, or None before any."""
        got = self.feed.latest(self.asset_type, self.asset_id)
        if not got:
            return None
        values: dict[str, float] = {}
        if "kW" in got:
            values["p_kw"] = got["kW"].reading.value
        if "kWh" in got:
            e_kwh = got["kWh"].reading.value
            values["e_kwh"] = e_kwh
            if self.capacity_kwh is not None:
                values["soc_percent"] = 100.0 * e_kwh / self.capacity_kwh
        timed = got.get("kW") or got["kWh"]
        self._latest = Measurement(values, t_mono=timed.t_mono)
        return self._latest

    def request(self, p_set_kw: float) -> None:
        """Publish ``p_set_kw`` (twin sign, clamped to ``p_max_kw``) on the setpoint topic.

        Non-blocking. While the feed's link is down the setpoint is kept and sent, with a
        fresh timestamp, as soon as the link is back; older ones are not replayed.
        """
        if isinstance(p_set_kw, bool) or not isinstance(p_set_kw, int | float) \
                or not math.isfinite(p_set_kw):
            raise ValueError(f"p_set_kw {p_set_kw!r} is not allowed: need a finite number")
        p = float(p_set_kw)
        if self.p_max_kw is not None:
            p = min(max(p, -self.p_max_kw), self.p_max_kw)
        with self._lock:
            self.setpoint_kw = p
            self._pending = True
        if self.feed.connected:
            self._send()

    def _resend(self) -> None:
        with self._lock:
            pending = self._pending
        if pending:
            self._send()

    def _send(self) -> None:
        with self._lock:
            p = self.setpoint_kw
            if p is None:
                return
            payload = encode(p, "kW", dt.datetime.now(dt.UTC))
            info = self.feed.publish(self.setpoint_topic, payload, self.setpoint_qos)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self._pending = False
                self.setpoints_sent += 1
