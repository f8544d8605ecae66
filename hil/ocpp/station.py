"""Charging-station emulator: the twin's charger and EV as an OCPP 2.0.1 station.

Sign convention: positive = consumption / charging / import (``p_kw`` is the import
power, ``Power.Active.Import``); the emulated EV only charges.

One session: after ``plug_in_after_s`` (wall seconds) the EV plugs in
(StatusNotification Occupied), the station authorizes its idToken, starts a
transaction (TransactionEvent Started, EVSE 1 connector 1) and tells the CSMS the
EV's needs (NotifyEVChargingNeeds: departure, energy to the target SoC, the EV's
maximum current). Every ``meter_interval_s`` it integrates the energy and sends a
TransactionEvent Updated with power [W], energy register [Wh] and SoC [%]. The power
is ``min(limit in force, charger max, EV max)``, 0 once the target SoC is reached
(see :mod:`hil.ocpp.ev`). At departure (after ``dwell_s`` scenario seconds) it ends
the transaction and goes Available. ``speed`` is scenario seconds per wall second:
it scales the energy integration and the dwell, not the protocol timers.

The station id is the last segment of the CSMS URL when that segment equals it;
otherwise the id is appended (``ws://host:port/ocpp`` -> ``ws://host:port/ocpp/ID``).
When the CSMS goes away the station reconnects with exponential backoff, boots again
and carries on with the same transaction. Its transaction events meanwhile (meter
values, an Ended when the EV leaves) wait in an :class:`hil.ocpp.offline.OfflineQueue`
with ``offline = true`` and go to the CSMS in order once the link is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import websockets
from ocpp.v201 import call
from websockets.headers import build_authorization_basic

from hil.base import Backoff, wait_any
from hil.ocpp import profiles as prof
from hil.ocpp.ev import EvSession
from hil.ocpp.meter import charging_needs, meter_value
from hil.ocpp.offline import OfflineQueue
from hil.ocpp.rpc import LOG, SUBPROTOCOL, V_PHASE, iso_utc
from hil.ocpp.station_link import CONNECTOR, EVSE, StationChargePoint, station_url
from hil.origin import wait_origin
from hil.views import paired_ev
from simulators.ev.behaviour import PATTERNS
from twin.scenario.assets import resolve_assets
from twin.scenario.loading import load_scenario


def default_dwell_s(pattern: str) -> float:
    """Mean stay of an EV of ``pattern`` (from :data:`simulators.ev.behaviour.PATTERNS`:
    home 18:00 -> 07:00, workplace 08:00 -> 17:00). [s]"""
    pat = PATTERNS[pattern]
    return (pat.departure_day * 24.0 + pat.departure_h - pat.arrival_h) * 3600.0


class StationEmulator:
    """One scenario charger with its EV, emulated as an OCPP 2.0.1 charging station.

    Parameters
    ----------
    scenario : twin.scenario.schema.Scenario
        Validated scenario holding the charger (``assets.ev_charger``) and the EVs.
    charger_id : str
        Id of the charger asset; its EV is the EV with the same index, else the first.
    url : str
        CSMS endpoint, ``ws://`` or ``wss://``.
    speed : float
        Scenario seconds per wall second for the energy and the dwell. [-]
    station_id : str, optional
        OCPP identity; default the charger id.
    password : str, optional
        Basic-auth password (security profile 1 / 2); user name = station id.
    cafile : str, optional
        CA bundle to verify a ``wss://`` CSMS.
    meter_interval_s : float
        Wall seconds between meter values. [s]
    plug_in_after_s : float
        Wall seconds before the EV plugs in. [s]
    origin_file : path, optional
        Instead: the EV plugs in at the wall time written to this file, once it is
        (:mod:`hil.origin`, a loopback run's time origin), plus ``plug_in_at_s``.
    plug_in_at_s : float
        With ``origin_file``: scenario seconds after the origin at which the EV plugs in
        (a loopback run gives half a step, so that plug-in and departure fall between
        the twin's readings, never on one). [s]
    dwell_s : float, optional
        Scenario seconds the EV stays; default the mean stay of its pattern. [s]
    auto_start : bool
        Start a transaction on plug-in (else wait for RequestStartTransaction).
    """

    def __init__(self, scenario, charger_id: str, url: str, speed: float = 1.0,
                 station_id: str | None = None, password: str | None = None,
                 cafile: str | None = None, meter_interval_s: float = 1.0,
                 plug_in_after_s: float = 0.0, dwell_s: float | None = None,
                 id_token: str = "twin-ev", auto_start: bool = True,
                 response_timeout_s: float = 5.0, backoff: Backoff | None = None,
                 origin_file: str | Path | None = None, offline_queue_max: int = 1000,
                 plug_in_at_s: float = 0.0):
        assets = resolve_assets(scenario)
        chargers = {a.id: i for i, a in enumerate(assets["ev_charger"])}
        if charger_id not in chargers:
            raise ValueError(f"charger id {charger_id!r} is not an ev_charger of scenario "
                             f"{scenario.name!r}; allowed: {', '.join(chargers) or 'none'}")
        evs = assets["ev"]
        if not evs:
            raise ValueError(f"scenario {scenario.name!r} has no EV (assets.ev) to plug into "
                             f"charger {charger_id!r}")
        for name, value, low in (("speed", speed, 0.0), ("meter_interval_s", meter_interval_s, 0.0)):
            if not value > low:
                raise ValueError(f"{name} = {value!r}: need > {low:g}")
        if plug_in_after_s < 0 or (dwell_s is not None and dwell_s <= 0):
            raise ValueError(f"plug_in_after_s = {plug_in_after_s!r} (need >= 0) / dwell_s = "
                             f"{dwell_s!r} (need > 0 or None)")
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("ws", "wss"):
            raise ValueError(f"url {url!r}: scheme {scheme!r} is not ws or wss")
        index = chargers[charger_id]
        charger = assets["ev_charger"][index].spec
        ev = paired_ev(assets, charger_id)  # the twin pairs them the same way
        self.charger_id, self.station_id = charger_id, station_id or charger_id
        self.url = station_url(url, self.station_id)
        self.speed, self.meter_interval_s = float(speed), float(meter_interval_s)
        self.plug_in_after_s, self.id_token, self.auto_start = plug_in_after_s, id_token, auto_start
        self.origin_file = origin_file
        if not plug_in_at_s >= 0:
            raise ValueError(f"plug_in_at_s = {plug_in_at_s!r}: need >= 0 scenario seconds")
        self.plug_in_at_s = float(plug_in_at_s)
        self.dwell_s = float(dwell_s) if dwell_s is not None else default_dwell_s(ev.pattern)
        self.password, self.cafile, self.response_timeout_s = password, cafile, response_timeout_s
        self.backoff = backoff or Backoff(0.2, 2.0, 5.0)
        self.ev = EvSession(ev.capacity_kwh, ev.soc_initial_percent, ev.soc_target_percent,
                            ev.p_max_kw, charger.p_max_kw, getattr(ev, "eta_charge", 1.0))
        # state for tests and callers
        self.p_kw, self.register_kwh = 0.0, 0.0
        self.transaction_id: str | None = None
        self.limit_kw: float | None = None  # limit in force now; None: no profile
        self.plugged = self.departed = self.connected = self.booted = False
        self.n_boots, self.last_error = 0, None
        self.profiles: list[tuple[int, dict]] = []
        self.departure_unix_s: float | None = None
        self.cp: StationChargePoint | None = None
        self._seq, self._tx_start_unix_s, self._t_mono = 0, None, time.monotonic()
        self._remote: tuple[str, int] | None = None
        self._stop_tx: str | None = None
        self._stop = self._online = self._wake = None
        self._last_status: str | None = None
        self.queue = OfflineQueue(offline_queue_max)  # transaction events awaiting the link

    @property
    def e_kwh(self) -> float:
        """Energy of the current (or last) session. [kWh]"""
        return self.ev.e_kwh

    @property
    def soc_percent(self) -> float:
        return self.ev.soc_percent

    # ------------------------------------------------------------ handlers' side
    def _advance(self) -> None:
        """Integrate the energy at the power in force since the last call, then set
        the power from the limit in force now."""
        now = time.monotonic()
        dt_s, self._t_mono = (now - self._t_mono) * self.speed, now
        if self.transaction_id is not None:
            self.register_kwh += self.ev.advance(self.p_kw, dt_s)
        limit_w = prof.limit_in_force_w([p for _, p in self.profiles], time.time(),
                                        self._tx_start_unix_s, self.transaction_id)
        self.limit_kw = None if limit_w is None else limit_w / 1000.0
        self.p_kw = (self.ev.power_kw(self.limit_kw, self.meter_interval_s * self.speed)
                     if self.transaction_id is not None else 0.0)

    def install_profile(self, evse_id: int, profile: dict) -> str | None:
        tx = {EVSE: self.transaction_id} if self.transaction_id else {}
        reason = prof.check_profile(evse_id, profile, tx)
        if reason is not None:
            return reason
        self.profiles = prof.replace_profile(self.profiles, evse_id, profile)
        self._advance()
        return None

    def clear_profiles(self, profile_id: int | None, criteria: dict) -> int:
        keep = prof.profiles_kept(self.profiles, profile_id, criteria)
        n, self.profiles = len(self.profiles) - len(keep), keep
        self._advance()
        return n

    def composite(self, duration_s: int, evse_id: int, unit: str) -> dict:
        now = time.time()
        periods = prof.composite_schedule(
            [p for e, p in self.profiles if e in (0, evse_id)], now, duration_s,
            self.ev.p_charger_max_kw * 1000.0, self._tx_start_unix_s, self.transaction_id)
        if unit == "A":
            periods = [{"startPeriod": p["startPeriod"],
                        "limit": round(p["limit"] / (V_PHASE * 3), 1)} for p in periods]
        return {"evse_id": evse_id, "duration": int(duration_s), "schedule_start": iso_utc(now),
                "charging_rate_unit": unit, "charging_schedule_period": periods}

    def remote_start(self, token: str, remote_start_id: int, evse_id: int) -> bool:
        if evse_id != EVSE or not self.plugged or self.transaction_id or self.departed:
            return False
        self._remote = (token, remote_start_id)
        self._wake.set()
        return True

    def remote_stop(self, transaction_id: str) -> bool:
        if transaction_id != self.transaction_id:
            return False
        self._stop_tx = transaction_id
        self._wake.set()
        return True

    # ------------------------------------------------------------ outgoing calls
    async def _call(self, payload: Any, wait_online: bool = True):
        """Send a CALL; when ``wait_online``, wait for the link first; None when it
        could not be sent or got no answer."""
        while wait_online and not self._online.is_set() and not self._stop.is_set():
            await wait_any(self._online, self._stop, timeout_s=1.0)
        cp = self.cp
        if cp is None or not self._online.is_set():
            return None
        try:
            return await cp.call(payload)
        except (websockets.exceptions.ConnectionClosed, TimeoutError) as exc:
            LOG.warning("%s: %s not answered: %r", self.station_id, type(payload).__name__, exc)
            return None

    async def _status(self, status: str) -> None:
        """StatusNotification of connector 1, once per change on each link."""
        await wait_any(self._online, self._stop, timeout_s=3600.0)
        if status == self._last_status:
            return
        self._last_status = status
        await self._call(call.StatusNotification(
            timestamp=iso_utc(time.time()), connector_status=status, evse_id=EVSE,
            connector_id=CONNECTOR))

    def _charging_state(self) -> str:
        if self.p_kw > 0:
            return "Charging"
        return "SuspendedEV" if self.ev.e_to_target_kwh() <= 1e-9 else "SuspendedEVSE"

    def _tx_payload(self, event_type: str, trigger: str, context: str, **extra: Any):
        info = {"transaction_id": self.transaction_id, "charging_state": self._charging_state()}
        info.update(extra.pop("info", {}))
        self._seq += 1
        return call.TransactionEvent(
            event_type=event_type, timestamp=iso_utc(time.time()), trigger_reason=trigger,
            seq_no=self._seq - 1, transaction_info=info,
            meter_value=[meter_value(time.time(), self.p_kw, self.register_kwh,
                                     self.ev.soc_percent, context)], **extra)

    async def _tx_event(self, event_type: str, trigger: str, context: str, **extra: Any):
        return await self._send_tx(self._tx_payload(event_type, trigger, context, **extra))

    async def _send_tx(self, payload: Any):
        return await self.queue.send(payload, self._call_now, self._online)

    async def _call_now(self, payload: Any):
        return await self._call(payload, wait_online=False)

    async def _start_transaction(self, token: str, remote_start_id: int | None) -> None:
        if remote_start_id is None:
            resp = await self._call(call.Authorize(id_token={"id_token": token,
                                                             "type": "ISO14443"}))
            if resp is None or resp.id_token_info["status"] != "Accepted":
                LOG.warning("%s: idToken %r not accepted", self.station_id, token)
                return
        self.transaction_id, self._seq = str(uuid.uuid4()), 0
        self._tx_start_unix_s, self.ev.e_kwh = time.time(), 0.0
        self._advance()
        info = {} if remote_start_id is None else {"remote_start_id": remote_start_id}
        await self._tx_event(
            "Started", "Authorized" if remote_start_id is None else "RemoteStart",
            "Transaction.Begin", info=info, evse={"id": EVSE, "connector_id": CONNECTOR},
            id_token={"id_token": token, "type": "ISO14443" if remote_start_id is None
                      else "Central"})
        left_s = max(self.departure_unix_s - time.time(), 0.0)
        await self._call(call.NotifyEVChargingNeeds(evse_id=EVSE, charging_needs=charging_needs(
            self.ev.e_to_target_kwh(), self.ev.p_ev_max_kw, time.time() + left_s)))

    async def _end_transaction(self, trigger: str, reason: str) -> None:
        self._advance()
        self.p_kw = 0.0
        ended = self._tx_payload("Ended", trigger, "Transaction.End",
                                 info={"stopped_reason": reason})
        # the transaction is over here: a RequestStartTransaction that the CSMS sends
        # as soon as it has the Ended event finds the EVSE free
        self.transaction_id, self._tx_start_unix_s, self._stop_tx = None, None, None
        self.profiles = [(e, p) for e, p in self.profiles
                         if p["chargingProfilePurpose"] != "TxProfile"]
        self._advance()
        await self._send_tx(ended)

    # ------------------------------------------------------------ loops
    async def _session(self) -> None:
        if not await self._plug_in():
            return
        if self.auto_start:
            await self._start_transaction(self.id_token, None)
        while not self._stop.is_set():
            left = self.departure_unix_s - time.time()
            if left <= 0:
                break
            self._wake.clear()
            if await wait_any(self._stop, self._wake,
                               timeout_s=min(self.meter_interval_s, left)):
                if self._stop.is_set():
                    return
            await self._session_step()
        if self._stop.is_set():
            return
        if self.transaction_id is not None:
            await self._end_transaction("EVDeparted", "EVDisconnected")
        self.plugged, self.departed = False, True
        await self._status("Available")

    async def _plug_in(self) -> bool:
        """Wait until the plug-in time, then plug the EV in; False when stopped first."""
        delay_s = self.plug_in_after_s
        if self.origin_file is not None:
            origin = await wait_origin(self.origin_file, self._stop)
            if origin is None:
                return False
            delay_s = max(0.0, origin + self.plug_in_at_s / self.speed - time.time())
        if await wait_any(self._stop, timeout_s=delay_s):
            return False
        self.plugged = True
        self.departure_unix_s = time.time() + self.dwell_s / self.speed
        await self._status("Occupied")
        return True

    async def _session_step(self) -> None:
        """One wake-up of the plugged-in EV: integrate, then a remote stop, a remote
        start, or (on a meter interval) a periodic meter value."""
        self._advance()
        if self._stop_tx and self._stop_tx == self.transaction_id:
            await self._end_transaction("RemoteStop", "Remote")
        elif self._remote and self.transaction_id is None:
            (token, rid), self._remote = self._remote, None
            await self._start_transaction(token, rid)
        elif self.transaction_id is not None and not self._wake.is_set():
            await self._tx_event("Updated", "MeterValuePeriodic", "Sample.Periodic")

    async def _heartbeat(self, interval_s: float) -> None:
        while await wait_any(self._stop, timeout_s=interval_s) is False:
            await self._call(call.Heartbeat(), wait_online=False)

    async def _connection(self) -> None:
        headers = {}
        if self.password is not None:
            headers["Authorization"] = build_authorization_basic(self.station_id, self.password)
        ctx = None
        if self.url.startswith("wss://"):
            ctx = ssl.create_default_context(cafile=self.cafile)
        while not self._stop.is_set():
            try:
                async with websockets.connect(
                        self.url, subprotocols=[SUBPROTOCOL], additional_headers=headers,
                        ssl=ctx, open_timeout=5, ping_interval=None) as ws:
                    await self.serve_link(ws)
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
                self.last_error = exc
                LOG.info("%s: link to %s down: %r", self.station_id, self.url, exc)
            await wait_any(self._stop, timeout_s=self.backoff.next_delay_s())

    async def serve_link(self, ws) -> None:
        """Run the OCPP link over one open websocket ``ws`` until it closes (boot,
        status, heartbeat, queued events); a subclass may wrap ``ws``."""
        cp = StationChargePoint(self.station_id, ws, self, self.response_timeout_s)
        reader = asyncio.create_task(cp.start())
        self.cp, self.connected = cp, True
        heartbeat = drain = None
        try:
            interval = await self._boot(cp, reader)
            if interval is None:
                return
            self.backoff.reset()
            self._last_status = None
            self._online.set()
            await self._status("Occupied" if self.plugged else "Available")
            heartbeat = asyncio.create_task(self._heartbeat(interval))
            drain = asyncio.create_task(self.queue.drain(self._call_now, self._online))
            await reader
        finally:
            self._online.clear()
            self.cp, self.connected, self.booted = None, False, False
            tasks = [t for t in (reader, heartbeat, drain) if t is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _boot(self, cp: StationChargePoint, reader: asyncio.Task) -> float | None:
        """BootNotification until Accepted; the heartbeat interval, None if the link
        dropped."""
        while not self._stop.is_set() and not reader.done():
            try:
                resp = await cp.call(call.BootNotification(
                    charging_station={"model": "CariflexTwinEmulator", "vendor_name": "Cariflex"},
                    reason="PowerUp" if self.n_boots == 0 else "Unknown"))
            except (websockets.exceptions.ConnectionClosed, TimeoutError):
                return None
            if resp is not None and resp.status == "Accepted":
                self.n_boots += 1
                self.booted = True
                return float(resp.interval) if resp.interval > 0 else 60.0
            wait_s = resp.interval if resp is not None and resp.interval > 0 else 5.0
            await wait_any(self._stop, timeout_s=wait_s)
        return None

    async def run(self) -> None:
        """Connect, run the session, keep reconnecting until :meth:`stop`."""
        self._stop, self._online, self._wake = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._t_mono = time.monotonic()
        tasks = [asyncio.create_task(self._connection()), asyncio.create_task(self._session())]
        try:
            await self._stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()


def run_station(scenario, charger_id: str, url: str, **kwargs: Any) -> int:
    """Run one emulated station until Ctrl-C or SIGTERM (blocking); ``scenario`` is a
    Scenario or a scenario file path. Returns 0."""
    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    emulator = StationEmulator(scenario, charger_id, url, **kwargs)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, lambda: asyncio.ensure_future(emulator.stop()))
        await emulator.run()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0
