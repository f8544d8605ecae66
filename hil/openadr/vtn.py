"""A small OpenADR 2.0b VTN for tests and demos, on ``openleadr.OpenADRServer``.

Plain HTTP, no message signing: the server gets no ``cert``/``key`` (so its messages are
unsigned) and the connection is not TLS, so openleadr never asks for a fingerprint. Every
VEN that asks is registered; its venID is its venName, so a restarted VTN addresses the same
VEN by the same id. Events target a VEN name or ``all`` (every VEN, also those that register
later); each VEN gets its own copy with the same event id.

Sign convention: positive = consumption / import. TELEMETRY_USAGE reports of real power are
kept as received (``value`` in the VEN's unit and scale) and converted to ``p_kw``.

Run it: ``python run.py vtn [--host H] [--port P] [--events FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import logging
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import openleadr
from pydantic import ValidationError

from hil.openadr.events import (
    SI_SCALE_EXPONENTS,
    TARGET_ALL,
    EventsFileError,
    EventSpec,
    build_event,
    format_validation_error,
    load_events,
    new_event_id,
)

LOG = logging.getLogger("openleadr")
HTTP_PATH = "/OpenADR2/Simple/2.0b"


def quiet_openleadr() -> None:
    """openleadr sets its logger to INFO on import (one line per report value); keep
    warnings and errors only."""
    if LOG.level < logging.WARNING:
        LOG.setLevel(logging.WARNING)


@dataclass(frozen=True)
class UsageReport:
    """One TELEMETRY_USAGE value received from a VEN.

    ``t_utc`` is the sample time the VEN stamped, ``received_utc`` when the VTN got it,
    ``value`` as sent (in ``unit`` with SI ``scale``), ``p_kw`` the same in kW when the unit
    is W (positive = import), else None.
    """

    ven_id: str
    resource_id: str
    t_utc: dt.datetime
    value: float
    unit: str | None
    scale: str | None
    p_kw: float | None
    received_utc: dt.datetime


def _to_kw(value: float, unit: str | None, scale: str | None) -> float | None:
    if unit != "W":
        return None
    return float(value) * 10.0 ** (SI_SCALE_EXPONENTS.get(scale or "none", 0) - 3)


class Vtn:
    """OpenADR 2.0b VTN on loopback HTTP.

    Parameters
    ----------
    host : str
        Address to bind.
    port : int
        TCP port; 0 picks a free one (read :attr:`port` after :meth:`start`).
    events : iterable of EventSpec
        Events queued at start (e.g. from :func:`load_events`).
    vtn_id : str
        The VTN id (not all lowercase: openleadr's VEN flags lowercase ids as invalid).
    poll_interval_s : float
        Poll frequency the VTN asks of VENs at registration. [s]
    on_message : callable, optional
        Called with one human-readable line per registration, opt response and report.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, events: Any = (),
                 vtn_id: str = "CARIFLEX_VTN", poll_interval_s: float = 1.0,
                 on_message: Callable[[str], None] | None = None):
        if not 0 <= int(port) <= 65535:
            raise ValueError(f"port: {port!r} is not a TCP port (0-65535; 0 = any free port)")
        if poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s: {poll_interval_s!r} must be > 0 s")
        if vtn_id.islower():
            raise ValueError(f"vtn_id: {vtn_id!r} must not be all lowercase (OpenADR ids)")
        self.host, self.port, self.vtn_id = host, int(port), vtn_id
        self.poll_interval_s = float(poll_interval_s)
        self.on_message = on_message
        self.vens: dict[str, dict[str, str]] = {}        # ven_id -> ven_name, registration_id
        self.opt_responses: dict[str, dict[str, str]] = {}  # event_id -> ven_id -> opt type
        self.reports: list[UsageReport] = []
        self._events: list[tuple[str, EventSpec, dt.datetime]] = []  # (id, spec, added at)
        self._queued: set[tuple[str, str]] = set()       # (event_id, ven_id) already queued
        self._lock = threading.Lock()
        self._server: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._initial = list(events)

    # --------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        """The VTN URL a VEN connects to."""
        return f"http://{self.host}:{self.port}{HTTP_PATH}"

    async def start(self) -> None:
        """Bind and serve on the running loop; queue the events given at construction."""
        quiet_openleadr()
        self._loop = asyncio.get_running_loop()
        level = LOG.level
        LOG.setLevel(logging.ERROR)  # the constructor warns that we give no ven_lookup
        try:
            server = openleadr.OpenADRServer(
                vtn_id=self.vtn_id, http_host=self.host, http_port=self.port,
                requested_poll_freq=dt.timedelta(seconds=self.poll_interval_s))
        finally:
            LOG.setLevel(level)
        server.add_handler("on_create_party_registration", self._on_registration)
        server.add_handler("on_register_report", self._on_register_report)
        # openleadr's own ven_lookup argument is stored on the VTNService class, shared by
        # every server of the process; set it per instance instead, so an unknown venID
        # (e.g. registered with a previous VTN) is asked to re-register.
        for service in server.services.values():
            service.ven_lookup = self._ven_lookup
        with contextlib.redirect_stdout(io.StringIO()):  # openleadr prints a banner
            await server.run()
        self._server = server
        sockets = server.app_runner.addresses
        if sockets:
            self.port = int(sockets[0][1])
        for spec in self._initial:
            self.add_event(spec)
        self._initial = []

    async def stop(self) -> None:
        """Close the HTTP server (idempotent)."""
        if self._server is not None:
            server, self._server = self._server, None
            await server.stop()

    # --------------------------------------------------------------- events
    def add_event(self, spec: EventSpec | dict | None = None, /, **fields: Any) -> str:
        """Add an event (an :class:`EventSpec`, a dict, or its fields as keywords).

        Offsets in ``start`` count from now. Returns the event id. Thread-safe: from another
        thread the event is queued on the VTN's loop.

        Raises
        ------
        EventsFileError
            When the fields fail validation (the message names the field path).
        """
        if spec is None:
            spec = fields
        if not isinstance(spec, EventSpec):
            try:
                spec = EventSpec.model_validate(spec)
            except ValidationError as err:
                raise EventsFileError(format_validation_error(err, "add_event")) from None
        now = dt.datetime.now(dt.UTC)
        try:
            spec.windows_utc(now)
        except ValueError as err:
            raise EventsFileError(f"add_event: {err}") from None
        event_id = spec.id or new_event_id()
        with self._lock:
            if any(eid == event_id for eid, _, _ in self._events):
                raise EventsFileError(f"add_event: id {event_id!r} is already used")
            self._events.append((event_id, spec, now))
        self._in_loop(self._distribute)
        return event_id

    def add_raw_event(self, ven_id: str, event: Any) -> str:
        """Queue a ready-made openleadr event for a registered VEN, bypassing validation
        (tests use it to send what this VTN would refuse). Returns the event id."""
        event_id = event.event_descriptor.event_id
        self._in_loop(lambda: self._server.add_raw_event(
            ven_id=ven_id, event=event, callback=partial(self._on_opt)))
        return event_id

    def _in_loop(self, fn: Callable[[], Any]) -> None:
        if self._loop is None or self._server is None:
            return  # not started: start() distributes
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            fn()
        else:
            self._loop.call_soon_threadsafe(fn)

    def _distribute(self) -> None:
        """Queue every event to every registered VEN it targets, once each."""
        if self._server is None:
            return
        with self._lock:
            events, vens = list(self._events), dict(self.vens)
        for event_id, spec, added in events:
            for ven_id, ven in vens.items():
                if spec.target not in (TARGET_ALL, ven["ven_name"]):
                    continue
                if (event_id, ven_id) in self._queued:
                    continue
                self._queued.add((event_id, ven_id))
                callback = self._on_opt if spec.response_required == "always" else None
                self._server.add_raw_event(ven_id=ven_id,
                                           event=build_event(spec, event_id, ven_id, added),
                                           callback=callback)

    # --------------------------------------------------------------- handlers
    def _say(self, line: str) -> None:
        if self.on_message is not None:
            self.on_message(line)

    def _ven_lookup(self, ven_id: str) -> dict | None:
        ven = self.vens.get(ven_id)
        return None if ven is None else {"ven_id": ven_id, **ven}

    def _on_registration(self, payload: dict) -> tuple[str, str] | bool:
        ven_name = payload.get("ven_name")
        if not ven_name:
            self._say("registration refused: no venName")
            return False
        ven_id = ven_name
        registration_id = f"reg-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self.vens[ven_id] = {"ven_name": ven_name, "registration_id": registration_id}
        self._say(f"registered VEN {ven_name!r} (venID {ven_id}, registration {registration_id})")
        self._distribute()
        return ven_id, registration_id

    def _on_opt(self, ven_id: str, event_id: str, opt_type: str) -> None:
        seen = self.opt_responses.setdefault(event_id, {})
        changed = seen.get(ven_id) != opt_type
        seen[ven_id] = opt_type
        # openleadr keeps one callback per event id and pops it at the first response, so
        # the other VENs of an 'all' event (same id) would go unheard: put it back.
        if self._server is not None:
            self._server.event_callbacks.setdefault(event_id, (None, self._on_opt))
        if changed:  # a VEN repeats its answer each time the event list is re-sent
            self._say(f"opt response from {ven_id}: {opt_type} for event {event_id}")

    async def _on_register_report(self, ven_id: str, resource_id: str, measurement: str,
                                  unit: str, scale: str, min_sampling_interval: dt.timedelta,
                                  max_sampling_interval: dt.timedelta):
        self._say(f"report offered by {ven_id}: {measurement} of {resource_id!r} in "
                  f"{scale if scale not in (None, 'none') else ''}{unit}, every "
                  f"{min_sampling_interval.total_seconds():g} s")
        return (partial(self._on_values, ven_id, resource_id, unit, scale),
                min_sampling_interval)

    def _on_values(self, ven_id: str, resource_id: str, unit: str | None, scale: str | None,
                   values: list[tuple[dt.datetime, float]]) -> None:
        received = dt.datetime.now(dt.UTC)
        for t, value in values:
            report = UsageReport(ven_id, resource_id, t, float(value), unit, scale,
                                 _to_kw(value, unit, scale), received)
            self.reports.append(report)
            shown = f"{report.p_kw:g} kW" if report.p_kw is not None else f"{value:g} {unit}"
            self._say(f"report from {ven_id}: {resource_id} = {shown} at {t.isoformat()}")


# ------------------------------------------------------------------- CLI
def serve(host: str = "127.0.0.1", port: int = 8080, events_file: str | None = None,
          poll_interval_s: float = 1.0) -> None:
    """Run a VTN until KeyboardInterrupt or SIGTERM, printing one line per registration,
    opt response and report. Raises :class:`EventsFileError` on a bad events file."""
    events = load_events(events_file) if events_file else []

    async def _main() -> None:
        vtn = Vtn(host, port, events, poll_interval_s=poll_interval_s,
                  on_message=lambda line: print(line, flush=True))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        await vtn.start()
        print(f"VTN {vtn.vtn_id} at {vtn.url} with {len(events)} event(s); "
              "Ctrl-C to stop", flush=True)
        try:
            await stop.wait()
        finally:
            await vtn.stop()
            print("VTN stopped", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port: {text!r} is not an integer") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port: {port} is outside 0-65535")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python run.py vtn``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8080, help="TCP port (8080; 0 = any)")
    parser.add_argument("--events", metavar="FILE", default=None,
                        help="events YAML (see examples/vtn_events.yaml)")


def main(args: argparse.Namespace) -> int:
    """Run the VTN; 0 when stopped, 2 with a message on stderr for a bad events file."""
    try:
        serve(args.host, args.port, args.events)
    except EventsFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: cannot serve on {args.host}:{args.port}: {err.strerror}", file=sys.stderr)
        return 2
    return 0
