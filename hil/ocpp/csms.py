"""A small OCPP 2.0.1 CSMS on websockets: one ``ocpp.v201.ChargePoint`` per station
connection (:class:`hil.ocpp.csms_link.CsmsChargePoint`), per-station state in the twin's
attributes (:mod:`hil.ocpp.csms_state`), and the smart-charging calls towards the
stations. The standalone server with its default policy is :mod:`hil.ocpp.serve`.

Sign convention: positive = consumption / charging / import (``p_kw`` is the
station's ``Power.Active.Import``).

Connections. A station connects to ``ws[s]://HOST:PORT/<any/prefix>/<station id>``
offering the subprotocol ``ocpp2.0.1``; the station id is the last path segment
(URL-decoded). The handshake is refused with HTTP 404 when the path has no station
id, or when ``known_stations`` is given and the id is not in it; with HTTP 400 when
the client does not offer ``ocpp2.0.1``. A second connection with the id of a
connected station replaces the first (the old socket is closed): a station that lost
its link usually comes back before the CSMS notices. State is kept per station id
across connections (a transaction survives a reconnect).

Security profiles. Profile 1: ``password`` set, plain ``ws://``: HTTP Basic auth on
the upgrade, user name = station id; a missing or wrong one gets HTTP 401. Profile 2:
the same over TLS (``ssl_context``, see :func:`server_ssl_context`). Neither: plain
``ws://`` without auth.

Events. Every change is reported to the listeners (:meth:`Csms.add_listener`) as
``(station_id, event, detail)`` with ``event`` one of :data:`EVENTS`; listeners run on
the CSMS's event loop and must not block.
"""

from __future__ import annotations

import asyncio
import hmac
import http
import inspect
import math
import ssl
import time
from collections.abc import Callable
from typing import Any

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v201 import call
from websockets.asyncio.server import ServerConnection
from websockets.headers import build_www_authenticate_basic, parse_authorization_basic

from hil.ocpp.csms_link import CsmsChargePoint
from hil.ocpp.csms_state import (
    NAN,
    StationNotConnected,
    StationState,
    server_ssl_context,
    station_id_from_path,
)
from hil.ocpp.profiles import default_profile, tx_profile
from hil.ocpp.rpc import LOG, SUBPROTOCOL, parse_unix_s

__all__ = ["EVENTS", "Csms", "CsmsChargePoint", "StationNotConnected", "StationState",
           "server_ssl_context", "station_id_from_path"]

DEFAULT_PROFILE_ID = 1000  # the TxDefaultProfile's id (TxProfiles use the EVSE id)
EVENTS = ("connected", "disconnected", "auth_failed", "booted", "status", "authorized",
          "tx_started", "tx_updated", "tx_ended", "meter", "needs", "profile",
          "malformed", "timeout")


class Csms:
    """An OCPP 2.0.1 CSMS; see the module docstring for paths, security and events.

    Parameters
    ----------
    password : str, optional
        Basic-auth password every station must give (security profile 1, or 2 with
        ``ssl_context``).
    ssl_context : ssl.SSLContext, optional
        Serve ``wss://`` (security profile 2).
    allowed_tokens : iterable of str, optional
        idTokens to accept; None accepts every token.
    known_stations : iterable of str, optional
        Station ids allowed to connect; None allows any.
    heartbeat_interval_s : int
        Interval given in BootNotificationResponse. [s]
    response_timeout_s : float
        How long a call to a station waits for its answer. [s]
    """

    def __init__(self, *, password: str | None = None, ssl_context: ssl.SSLContext | None = None,
                 allowed_tokens=None, known_stations=None, heartbeat_interval_s: int = 60,
                 response_timeout_s: float = 5.0):
        self.password, self.ssl_context = password, ssl_context
        self.allowed_tokens = None if allowed_tokens is None else set(allowed_tokens)
        self.known_stations = None if known_stations is None else set(known_stations)
        self.heartbeat_interval_s = int(heartbeat_interval_s)
        self.response_timeout_s = response_timeout_s
        self.stations: dict[str, StationState] = {}
        self.on_transaction_started: Callable[[str, int, str], Any] | None = None
        self.port: int | None = None
        self._conns: dict[str, CsmsChargePoint] = {}
        self._listeners: list[Callable[[str, str, dict], None]] = []
        self._server: Any = None
        self._tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen on ``host:port`` (0: a free port); returns the bound port."""
        self._server = await websockets.serve(
            self._handler, host, port, subprotocols=[SUBPROTOCOL],
            process_request=self._check_request, ssl=self.ssl_context,
            ping_interval=None, max_size=2**20)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Close every connection and the listening socket (the state is kept)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def add_listener(self, fn: Callable[[str, str, dict], None]) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[str, str, dict], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def token_status(self, token: str) -> str:
        ok = self.allowed_tokens is None or token in self.allowed_tokens
        return "Accepted" if ok else "Invalid"

    def emit(self, station_id: str, event: str, **detail: Any) -> None:
        """Report ``event`` (one of :data:`EVENTS`) of ``station_id`` to every listener."""
        for fn in list(self._listeners):
            try:
                fn(station_id, event, detail)
            except Exception:  # noqa: BLE001 - a listener's bug must not kill the link
                LOG.exception("CSMS listener failed on %s %s", station_id, event)

    def transaction_started(self, station_id: str, evse_id: int, tx_id: str) -> None:
        """Run :attr:`on_transaction_started` (a coroutine runs as a task of its own)."""
        hook = self.on_transaction_started
        if hook is None:
            return
        result = hook(station_id, evse_id, tx_id)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ handshake
    def _check_request(self, connection: ServerConnection, request):
        station_id = station_id_from_path(request.path)
        if not station_id:
            return connection.respond(http.HTTPStatus.NOT_FOUND,
                                      "no station id: connect to ws://host:port/<station id>\n")
        if self.known_stations is not None and station_id not in self.known_stations:
            return connection.respond(http.HTTPStatus.NOT_FOUND,
                                      f"unknown station id {station_id!r}\n")
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        if SUBPROTOCOL not in [p.strip() for p in offered.split(",")]:
            return connection.respond(http.HTTPStatus.BAD_REQUEST,
                                      f"offer the subprotocol {SUBPROTOCOL}\n")
        if self.password is None:
            return None
        try:
            user, password = parse_authorization_basic(request.headers["Authorization"])
            ok = user == station_id and hmac.compare_digest(password.encode(),
                                                             self.password.encode())
        except (KeyError, websockets.exceptions.InvalidHeader):
            ok = False
        if ok:
            return None
        self.emit(station_id, "auth_failed", detail="missing or wrong basic-auth credentials")
        response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "invalid credentials\n")
        response.headers["WWW-Authenticate"] = build_www_authenticate_basic("OCPP")
        return response

    async def _handler(self, ws: ServerConnection) -> None:
        station_id = station_id_from_path(ws.request.path)
        old = self._conns.get(station_id)
        if old is not None:
            await old.close(1000, "replaced by a new connection")
        state = self.stations.setdefault(station_id, StationState(station_id))
        cp = CsmsChargePoint(station_id, ws, self, self.response_timeout_s)
        self._conns[station_id] = cp
        state.connected, state.n_connects = True, state.n_connects + 1
        state.last_seen_mono = time.monotonic()
        self.emit(station_id, "connected", n_connects=state.n_connects)
        try:
            await cp.start()
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            if self._conns.get(station_id) is cp:
                del self._conns[station_id]
                state.connected = state.booted = False
                self.emit(station_id, "disconnected", n_connects=state.n_connects)

    # ------------------------------------------------------------------ calls
    async def call_station(self, station_id: str, payload: Any):
        """Send one CALL; None when the station answered with a CALLERROR."""
        cp = self._conns.get(station_id)
        if cp is None:
            raise StationNotConnected(f"station {station_id!r} is not connected; connected: "
                                      f"{', '.join(sorted(self._conns)) or 'none'}")
        action = type(payload).__name__
        try:
            return await cp.call(payload)
        except TimeoutError:
            self.emit(station_id, "timeout", action=action, timeout_s=self.response_timeout_s)
            raise
        except OCPPError as exc:
            self.emit(station_id, "malformed", detail=f"{action} response: {exc}")
            raise
        except websockets.exceptions.ConnectionClosed as exc:
            raise StationNotConnected(f"station {station_id!r} went away during {action}") \
                from exc

    def _transaction(self, station_id: str, evse_id: int | None) -> tuple[int, str]:
        st = self.stations.get(station_id)
        if st is None or not st.transactions:
            raise StationNotConnected(f"station {station_id!r} has no active transaction")
        evse_id = st.active_evse() if evse_id is None else evse_id
        if evse_id not in st.transactions:
            raise StationNotConnected(f"station {station_id!r} has no transaction on EVSE "
                                      f"{evse_id}; active EVSEs: {sorted(st.transactions)}")
        return evse_id, st.transactions[evse_id]

    async def set_power_limit(self, station_id: str, p_kw: float, duration_s: int | None = None,
                              evse_id: int | None = None) -> str:
        """Send a TxProfile limiting the active transaction to ``p_kw`` [kW] (for
        ``duration_s`` [s], else until replaced); returns the station's status
        (``Accepted``, ``Rejected``, or ``CallError``)."""
        if not isinstance(p_kw, int | float) or not math.isfinite(p_kw) or p_kw < 0:
            raise ValueError(f"p_kw = {p_kw!r}: need a finite power >= 0 kW "
                             "(OCPP 2.0.1 profiles cannot discharge)")
        evse_id, tx_id = self._transaction(station_id, evse_id)
        profile = tx_profile(tx_id, p_kw * 1000.0, profile_id=evse_id, now_unix_s=time.time(),
                             duration_s=duration_s)
        resp = await self.call_station(station_id, call.SetChargingProfile(
            evse_id=evse_id, charging_profile=profile))
        status = "CallError" if resp is None else resp.status
        st = self.stations[station_id]
        if status == "Accepted":
            st.last_profile, st.limit_kw = profile, float(p_kw)
        self.emit(station_id, "profile", p_kw=float(p_kw), status=status, transaction_id=tx_id)
        return status

    async def set_default_limit(self, station_id: str, p_kw: float, evse_id: int = 0) -> str:
        """Send a TxDefaultProfile of ``p_kw`` [kW] (EVSE 0: the whole station), which
        holds every transaction until a TxProfile overrides it; returns the status."""
        if not isinstance(p_kw, int | float) or not math.isfinite(p_kw) or p_kw < 0:
            raise ValueError(f"p_kw = {p_kw!r}: need a finite power >= 0 kW")
        profile = default_profile(p_kw * 1000.0, profile_id=DEFAULT_PROFILE_ID,
                                  now_unix_s=time.time())
        resp = await self.call_station(station_id, call.SetChargingProfile(
            evse_id=evse_id, charging_profile=profile))
        return "CallError" if resp is None else resp.status

    async def clear_profile(self, station_id: str, profile_id: int | None = None,
                            evse_id: int | None = None) -> str:
        """ClearChargingProfile by id, else the TxProfiles of ``evse_id`` (all EVSEs
        when None); returns ``Accepted``, ``Unknown`` or ``CallError``."""
        criteria = None
        if profile_id is None:
            criteria = {"charging_profile_purpose": "TxProfile"}
            if evse_id is not None:
                criteria["evse_id"] = evse_id
        resp = await self.call_station(station_id, call.ClearChargingProfile(
            charging_profile_id=profile_id, charging_profile_criteria=criteria))
        status = "CallError" if resp is None else resp.status
        if status == "Accepted":
            self.stations[station_id].last_profile = None
            self.stations[station_id].limit_kw = NAN
        return status

    async def composite_schedule(self, station_id: str, duration_s: int = 3600,
                                 evse_id: int = 1) -> dict:
        """GetCompositeSchedule in W: ``{"status", "schedule_start_unix_s",
        "duration_s", "periods": [(start_s, limit_kw), ...]}``."""
        resp = await self.call_station(station_id, call.GetCompositeSchedule(
            duration=int(duration_s), evse_id=evse_id, charging_rate_unit="W"))
        if resp is None:
            return {"status": "CallError", "periods": []}
        out: dict = {"status": resp.status, "periods": []}
        if resp.schedule:
            sched = resp.schedule
            out["schedule_start_unix_s"] = parse_unix_s(sched["schedule_start"])
            out["duration_s"] = sched["duration"]
            out["periods"] = [(p["start_period"], p["limit"] / 1000.0)
                              for p in sched["charging_schedule_period"]]
        return out

    async def request_start(self, station_id: str, id_token: str = "twin", evse_id: int = 1,
                            remote_start_id: int = 1) -> str:
        """RequestStartTransaction; returns ``Accepted``, ``Rejected`` or ``CallError``."""
        resp = await self.call_station(station_id, call.RequestStartTransaction(
            id_token={"id_token": id_token, "type": "Central"}, remote_start_id=remote_start_id,
            evse_id=evse_id))
        return "CallError" if resp is None else resp.status

    async def request_stop(self, station_id: str, transaction_id: str | None = None) -> str:
        """RequestStopTransaction (default: the active transaction); returns the status."""
        if transaction_id is None:
            transaction_id = self._transaction(station_id, None)[1]
        resp = await self.call_station(station_id, call.RequestStopTransaction(
            transaction_id=transaction_id))
        return "CallError" if resp is None else resp.status
