"""HIL bridge for an EV charger behind OCPP 2.0.1: the twin's ``ev_charger`` attributes
read from, and its setpoint written to, one station connected to a shared :class:`Csms`.

Sign convention: positive = consumption / charging / import. OCPP 2.0.1 charging
profiles only limit the import, so ``p_discharge_avail_kw`` is 0 and a negative
setpoint cannot be written.

Published attributes: ``p_kw`` [kW], ``plugged`` (1.0 / 0.0), ``soc_percent`` [%]
(NaN if unknown), ``e_session_kwh`` [kWh], ``p_charge_avail_kw`` [kW] (min(charger
``p_max_kw``, EV max power) while plugged, else 0), ``p_discharge_avail_kw`` = 0,
``ev_departure_unix_s`` [s since epoch, UTC wall clock] (NaN if unknown),
``ev_e_request_kwh`` [kWh] (energy still requested; NaN if unknown).

Setpoints: :meth:`OcppChargerBridge.request` clamps to [0, p_max_kw]; a value outside
that range is recorded once as ``out_of_range`` (negative: discharge is not possible
with OCPP 2.0.1; above: the charger's rating). While plugged with a transaction the
clamped value is sent as a TxProfile when it moved by more than 0.1 kW from the last
one sent in this transaction (and on every new transaction); a ``Rejected`` answer or
a CALLERROR is recorded as ``write_rejected``.

Faults, from the CSMS's events for this station: ``disconnected`` when its link
drops, ``reconnected`` when it comes back, ``malformed`` for a frame that is not JSON
or fails its schema (the CSMS answers with a CALLERROR and keeps serving),
``timeout`` for a call the station did not answer in time.

Freshness: the state is republished every 0.5 s; its measurement time is now for a
connected station without a transaction (nothing newer to report), else the time of
the station's last message, so a lost or silent station ages into the run's
stale / hold / fallback watchdog.

Several bridges share one Csms running on the run's :class:`hil.base.BackgroundLoop`
(:func:`start_csms`).
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

from hil.base import BackgroundLoop, Bridge, FaultLog, FaultPolicy, Measurement
from hil.ocpp.csms import Csms, StationNotConnected, server_ssl_context

MIN_CHANGE_KW = 0.1
METER_EVENTS = ("tx_started", "tx_updated", "tx_ended", "meter")  # events with meter values


def start_csms(loop: BackgroundLoop, host: str = "127.0.0.1", port: int = 0,
               timeout_s: float = 10.0, tls_cert: str | None = None,
               tls_key: str | None = None, **security: Any) -> Csms:
    """Create a :class:`Csms` and start it on ``loop``; blocking until it listens.

    ``tls_cert`` / ``tls_key`` (PEM files) serve ``wss://`` (security profile 2);
    ``security`` holds the other keyword arguments of :class:`Csms` (``password``,
    ``ssl_context``, ``allowed_tokens``, ``response_timeout_s``, ...).
    """
    if bool(tls_cert) != bool(tls_key):
        raise ValueError(f"tls_cert = {tls_cert!r}, tls_key = {tls_key!r}: give both PEM "
                         "files for TLS, or neither")
    if tls_cert:
        security["ssl_context"] = server_ssl_context(tls_cert, tls_key)
    csms = Csms(**security)
    loop.run(csms.start(host, port), timeout_s)
    return csms


def stop_csms(loop: BackgroundLoop, csms: Csms, timeout_s: float = 10.0) -> None:
    loop.run(csms.stop(), timeout_s)


class OcppChargerBridge(Bridge):
    """One station of a shared CSMS seen as the twin's ``ev_charger``."""

    kind = "ev_charger"

    def __init__(self, asset_id: str, loop: BackgroundLoop, faults: FaultLog,
                 policy: FaultPolicy | None, csms: Csms, station_id: str, p_max_kw: float,
                 hold_at_boot: bool = False):
        super().__init__(asset_id, loop, faults, policy)
        self.hold_at_boot = hold_at_boot  # a 0 kW TxDefaultProfile once the station boots
        if not math.isfinite(p_max_kw) or p_max_kw <= 0:
            raise ValueError(f"p_max_kw = {p_max_kw!r}: need a finite rating > 0 kW")
        self.csms, self.station_id, self.p_max_kw = csms, station_id, float(p_max_kw)
        self._sent: tuple[str, float] | None = None  # (transaction id, kW) last sent
        self._out_of_range: float | None = None
        self._was_down = False
        self._started = False
        self._ticker = None
        # every meter sample's (monotonic time of arrival, p_kw, e_kwh), for the
        # sub-step tracking delay; events delivered late from the offline queue are not
        self.samples: list[tuple[float, float, float]] = []

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if not self._started:
            self.loop.loop.call_soon_threadsafe(self.csms.add_listener, self._on_event)
            self._started = True
            self._ticker = self.loop.submit(self._tick())
            if self.setpoint_kw is not None:  # a transaction that started before us
                self.loop.loop.call_soon_threadsafe(self._schedule_write,
                                                    self._clamp(self.setpoint_kw))
            self.loop.loop.call_soon_threadsafe(self._hold_when_booted)

    def _hold_when_booted(self) -> None:
        """On the loop: a booted station charges nothing until the twin says so (a 0 kW
        TxDefaultProfile); each TxProfile then overrides it."""
        st = self.csms.stations.get(self.station_id)
        if self.hold_at_boot and st is not None and st.connected and st.booted:
            asyncio.ensure_future(self._write_default())

    async def _write_default(self) -> None:
        await asyncio.sleep(0.05)  # after the BootNotification's answer has gone out
        try:
            status = await self.csms.set_default_limit(self.station_id, 0.0)
        except (StationNotConnected, TimeoutError):
            return
        if status != "Accepted":
            self.faults.record(self.asset_id, "write_rejected",
                               f"TxDefaultProfile 0 kW: station answered {status}")

    def stop(self) -> None:
        if self._started:
            self.loop.loop.call_soon_threadsafe(self.csms.remove_listener, self._on_event)
            self._started = False
            if self._ticker is not None:
                self._ticker.cancel()

    async def _tick(self) -> None:
        """Republish the state twice per ``stale_after_s`` so its age tells the truth."""
        while True:
            self._publish_state()
            await asyncio.sleep(min(0.5, self.policy.stale_after_s / 2))

    # ------------------------------------------------------------ events (loop thread)
    def _on_event(self, station_id: str, event: str, detail: dict) -> None:
        if station_id != self.station_id:
            return
        if event == "disconnected":
            self._was_down = True
            self.faults.record(self.asset_id, "disconnected", "station link closed")
        elif event == "connected" and (self._was_down or detail.get("n_connects", 1) > 1):
            self._was_down = False
            self.faults.record(self.asset_id, "reconnected",
                               f"station connected again (connection {detail.get('n_connects')})")
        elif event == "malformed":
            self.faults.record(self.asset_id, "malformed", str(detail.get("detail", "")))
        elif event == "timeout":
            self.faults.record(self.asset_id, "timeout",
                               f"{detail.get('action')} unanswered after "
                               f"{detail.get('timeout_s')} s")
        elif event == "booted":
            self._hold_when_booted()
        elif event == "tx_started" and self.setpoint_kw is not None:
            self._schedule_write(self._clamp(self.setpoint_kw))
        if event in METER_EVENTS and not detail.get("offline"):
            self._sample()
        self._publish_state()

    def _sample(self) -> None:
        st = self.csms.stations.get(self.station_id)
        if st is not None:
            p = st.p_kw if math.isfinite(st.p_kw) and st.transactions else 0.0
            self.samples.append((time.monotonic(), p, st.e_kwh))

    def _publish_state(self) -> None:
        st = self.csms.stations.get(self.station_id)
        if st is None:
            return
        plugged = bool(st.plugged or st.transactions)
        p_avail = self.p_max_kw
        if math.isfinite(st.ev_p_max_kw):
            p_avail = min(p_avail, st.ev_p_max_kw)
        nan = math.nan
        # the measurement is as old as the last message during a transaction; a
        # connected idle station has nothing newer to tell; a lost one ages
        idle = st.connected and not st.transactions
        t_mono = time.monotonic() if idle or not math.isfinite(st.last_seen_mono) \
            else st.last_seen_mono
        self._latest = Measurement({
            "p_kw": st.p_kw if math.isfinite(st.p_kw) and st.transactions else 0.0,
            "plugged": 1.0 if plugged else 0.0,
            "soc_percent": st.soc_percent if plugged else nan,
            "e_session_kwh": st.e_kwh,
            "p_charge_avail_kw": p_avail if plugged else 0.0,
            "p_discharge_avail_kw": 0.0,
            "ev_departure_unix_s": st.ev_departure_unix_s if plugged else nan,
            "ev_e_request_kwh": st.e_remaining_kwh if plugged else nan,
        }, t_mono)

    # ------------------------------------------------------------ setpoints
    def _clamp(self, p_set_kw: float) -> float:
        return min(max(p_set_kw, 0.0), self.p_max_kw)

    def request(self, p_set_kw: float) -> None:
        """Ask for ``p_set_kw`` [kW] (non-blocking; see the module docstring)."""
        p_set_kw = float(p_set_kw)
        if not math.isfinite(p_set_kw):
            self.faults.record(self.asset_id, "out_of_range", f"setpoint {p_set_kw!r} kW")
            return
        self.setpoint_kw = p_set_kw
        p_kw = self._clamp(p_set_kw)
        if p_kw != p_set_kw and p_set_kw != self._out_of_range:
            self._out_of_range = p_set_kw
            why = "no discharge with OCPP 2.0.1" if p_set_kw < 0 else "above the charger rating"
            self.faults.record(self.asset_id, "out_of_range",
                               f"setpoint {p_set_kw:g} kW clamped to {p_kw:g} kW ({why})")
        self.loop.loop.call_soon_threadsafe(self._schedule_write, p_kw, True)

    def _schedule_write(self, p_kw: float, only_if_changed: bool = False) -> None:
        """On the loop: send ``p_kw`` when there is a transaction (and it changed)."""
        st = self.csms.stations.get(self.station_id)
        if st is None or not st.transactions or not st.connected:
            return
        tx = st.transactions[st.active_evse()]
        if only_if_changed and self._sent is not None and self._sent[0] == tx \
                and abs(self._sent[1] - p_kw) <= MIN_CHANGE_KW:
            return
        self._sent = (tx, p_kw)
        asyncio.ensure_future(self._write(p_kw, tx))

    async def _write(self, p_kw: float, tx: str) -> None:
        try:
            status = await self.csms.set_power_limit(self.station_id, p_kw)
        except (StationNotConnected, TimeoutError):
            self._sent = None  # the CSMS recorded why; retry on the next request
            return
        except Exception as exc:  # noqa: BLE001 - schema errors are recorded by the CSMS
            self._sent = None
            self.faults.record(self.asset_id, "write_rejected", f"{p_kw:g} kW: {exc!r}")
            return
        if status != "Accepted":
            self._sent = None
            self.faults.record(self.asset_id, "write_rejected",
                               f"TxProfile {p_kw:g} kW for {tx}: station answered {status}")
