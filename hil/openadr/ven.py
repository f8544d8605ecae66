"""OpenADR 2.0b VEN bridge on ``openleadr.OpenADRClient``: VTN events in, site constraints
and TELEMETRY_USAGE reports out.

Sign convention: positive = consumption / import. ``site_limit_kw`` caps the site's import;
the reported site power is ``p_kw`` as the twin sets it (W with SI scale ``k`` on the wire).

The client runs on the run's shared :class:`hil.base.BackgroundLoop`; the twin, in another
thread, calls :meth:`VenBridge.set_site_power_kw`, :meth:`VenBridge.set_site_state` and reads
:meth:`VenBridge.site_limit_kw_at` / :meth:`VenBridge.price_eur_per_kwh_at`.

Faults (asset id = the VEN name): ``connection_refused`` when a registration attempt fails
(then retried with backoff), ``reconnected`` when registered after a failure,
``disconnected`` when a registered VEN hears nothing from the VTN for a while, ``malformed``
for an event that does not translate (ignored and opted out) or a VTN message that fails
the OpenADR XML schema (dropped by openleadr).

Opt decision: price events always opt in; an event with site limits opts in when
``can_comply(constraint)`` holds for each of its limits. Opted-out constraints stay in
:meth:`VenBridge.constraints` with ``opted_in=False`` and are not applied by
:meth:`VenBridge.site_limit_kw_at`. A cancelled event's constraints are dropped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import openleadr
from lxml.etree import XMLSyntaxError
from openleadr.messaging import validate_xml_schema

from hil.base import BackgroundLoop, FaultLog, FaultPolicy
from hil.openadr.signals import (
    DEFAULT_LEVELS_PERCENT,
    MalformedEvent,
    SiteConstraint,
    can_comply,
    check_levels,
    constraints_from_event,
    price_at,
    tightest_limit_kw,
)
from hil.openadr.vtn import quiet_openleadr

# report intervals openleadr's cron trigger can keep evenly: divisors of a minute or an hour
_CRON_SECONDS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
KEEP_ENDED_S = 24 * 3600.0  # constraints that ended longer ago are dropped


class _Client(openleadr.OpenADRClient):
    """openleadr's client with the poll interval chosen by the VEN instead of the VTN, and
    no empty reports."""

    poll_override: dt.timedelta | None = None
    has_sample: Callable[[], bool] = staticmethod(lambda: True)

    async def update_report(self, report_request_id: str) -> None:
        # a report without intervals makes openleadr's VTN fail (KeyError 'intervals',
        # HTTP 500): skip the report until the twin has set a value
        if self.has_sample():
            await super().update_report(report_request_id)

    async def create_party_registration(self, *args: Any, **kwargs: Any) -> Any:
        result = await super().create_party_registration(*args, **kwargs)
        if self.registration_id and self.poll_override is not None:
            self.poll_frequency = self.poll_override
        return result


class VenBridge:
    """A site's VEN: registers, turns events into :class:`SiteConstraint`, opts in or out,
    and reports the site power.

    Parameters
    ----------
    vtn_url : str
        e.g. ``http://127.0.0.1:8080/OpenADR2/Simple/2.0b``.
    ven_name : str
        The VEN name; also the fault log's asset id.
    loop : BackgroundLoop
        The shared protocol loop.
    faults : FaultLog
    site_capacity_kw : float
        Site import capacity the SIMPLE level percentages apply to. [kW]
    policy : FaultPolicy, optional
        Reconnect backoff and timeouts.
    levels : mapping, optional
        SIMPLE level -> percent of ``site_capacity_kw`` (None: no limit); default
        {0: None, 1: 75, 2: 50, 3: 25}.
    report_interval_s : float
        TELEMETRY_USAGE sampling = reporting interval, a divisor of 60 s or whole minutes
        dividing 60 min (openleadr schedules reports with a cron trigger). [s]
    poll_interval_s : float, optional
        Poll interval [s]; None uses the one the VTN asks for at registration.
    can_comply : callable, optional
        ``can_comply(constraint) -> bool`` decides optIn/optOut for limit events; the
        default compares the limit with the site state set by :meth:`set_site_state`.
        Price events always opt in.
    """

    def __init__(self, vtn_url: str, ven_name: str, loop: BackgroundLoop, faults: FaultLog,
                 site_capacity_kw: float, policy: FaultPolicy | None = None,
                 levels: Mapping[int, float | None] = DEFAULT_LEVELS_PERCENT,
                 report_interval_s: float = 10, poll_interval_s: float | None = None,
                 can_comply: Callable[[SiteConstraint], bool] | None = None):
        if not vtn_url.startswith(("http://", "https://")):
            raise ValueError(f"vtn_url: {vtn_url!r} must start with http:// or https://")
        if not ven_name:
            raise ValueError("ven_name: must not be empty")
        if not (math.isfinite(site_capacity_kw) and site_capacity_kw > 0):
            raise ValueError(f"site_capacity_kw: {site_capacity_kw!r} must be > 0 kW")
        whole = isinstance(report_interval_s, int | float) and math.isfinite(report_interval_s) \
            and float(report_interval_s).is_integer()
        minutes, rest = divmod(int(report_interval_s), 60) if whole else (0, -1)
        if not ((minutes == 0 and rest in _CRON_SECONDS)
                or (rest == 0 and minutes in (*_CRON_SECONDS, 60))):
            raise ValueError(f"report_interval_s: {report_interval_s!r} is not allowed; use "
                             f"whole seconds in {_CRON_SECONDS} or whole minutes dividing 60")
        if poll_interval_s is not None and not poll_interval_s > 0:
            raise ValueError(f"poll_interval_s: {poll_interval_s!r} must be > 0 s (or None)")
        self.vtn_url, self.ven_name = vtn_url.rstrip("/"), ven_name
        self.loop, self.faults = loop, faults
        self.policy = policy or FaultPolicy()
        self.site_capacity_kw = float(site_capacity_kw)
        self.levels = check_levels(levels)
        self.report_interval_s = int(report_interval_s)
        self.poll_interval_s = poll_interval_s
        self._can_comply = can_comply or self._default_can_comply
        self._lock = threading.Lock()
        self._constraints: dict[str, list[SiteConstraint]] = {}  # event id -> constraints
        self._p_kw: float | None = None
        self._inflexible_kw, self._flexible_kw = 0.0, 0.0
        self._client: _Client | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._last_contact = time.monotonic()
        self._contact = False   # an HTTP answer arrived during the current attempt
        self._down = False      # a disconnected fault is open

    # --------------------------------------------------------------- twin side
    @property
    def registered(self) -> bool:
        client = self._client
        return client is not None and bool(client.registration_id) and not self._stopping

    @property
    def ven_id(self) -> str | None:
        client = self._client
        return None if client is None else client.ven_id

    def set_site_power_kw(self, p_kw: float) -> None:
        """The site's power to report [kW] (positive = import)."""
        if not math.isfinite(p_kw):
            raise ValueError(f"p_kw: {p_kw!r} must be a finite power in kW")
        self._p_kw = float(p_kw)

    def set_site_state(self, inflexible_kw: float, flexible_kw: float) -> None:
        """What the default opt decision uses: the site's inflexible power [kW] (positive =
        import) and the import reduction its flexible assets can make [kW, >= 0]."""
        can_comply(None, inflexible_kw, flexible_kw)  # validates both
        self._inflexible_kw, self._flexible_kw = float(inflexible_kw), float(flexible_kw)

    def constraints(self) -> list[SiteConstraint]:
        """Every constraint received (opted in or not), sorted by start."""
        with self._lock:
            out = [c for cs in self._constraints.values() for c in cs]
        return sorted(out, key=lambda c: (c.start_utc, c.event_id))

    def constraints_at(self, t_utc: dt.datetime) -> list[SiteConstraint]:
        """Constraints whose window contains ``t_utc`` (timezone-aware)."""
        _aware(t_utc)
        return [c for c in self.constraints() if c.active_at(t_utc)]

    def site_limit_kw_at(self, t_utc: dt.datetime) -> float | None:
        """The tightest opted-in site import limit at ``t_utc`` [kW], or None."""
        _aware(t_utc)
        return tightest_limit_kw(self.constraints(), t_utc)

    def price_eur_per_kwh_at(self, t_utc: dt.datetime) -> float | None:
        """The energy price at ``t_utc`` [EUR/kWh], or None."""
        _aware(t_utc)
        return price_at(self.constraints(), t_utc)

    # --------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Begin registering (non-blocking); retries with backoff until registered."""
        if self._task is not None and not self._task.done():
            return  # already running
        self._stopping = False
        self.loop.submit(self._run())

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop polling and reporting and close the HTTP session (blocking, bounded)."""
        self._stopping = True
        try:
            self.loop.run(self._shutdown(), timeout_s)
        except Exception:  # noqa: BLE001 - stopping: the loop may already be gone
            pass

    async def _shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            await _stop_client(client)

    # --------------------------------------------------------------- protocol side
    def _make_client(self) -> _Client:
        client = _Client(ven_name=self.ven_name, vtn_url=self.vtn_url, show_fingerprint=False,
                         disable_signature=True)
        if self.poll_interval_s is not None:
            client.poll_override = dt.timedelta(seconds=self.poll_interval_s)
        client.has_sample = lambda: self._p_kw is not None
        client.add_handler("on_event", self._on_event)
        client.add_handler("on_update_event", self._on_update_event)
        interval = dt.timedelta(seconds=self.report_interval_s)
        client.add_report(callback=self._sample, resource_id=self.ven_name,
                          measurement="POWER_REAL", unit="W", scale="k",
                          sampling_rate=interval, report_duration=interval)
        client.add_hook("before_schema_validation", self._check_schema)
        client.add_hook("after_receive_xml", self._on_contact)
        return client

    async def _run(self) -> None:
        quiet_openleadr()
        self._task = asyncio.current_task()
        backoff, failed = self.policy.backoff(), False
        while not self._stopping:
            client = self._make_client()
            self._contact = False
            try:
                await client.run()
            except asyncio.CancelledError:
                await _stop_client(client)
                raise
            except Exception as err:  # noqa: BLE001 - openleadr raised mid-registration
                await _stop_client(client)
                detail = f"registration at {self.vtn_url} failed: {type(err).__name__}: {err}"
            else:
                if client.registration_id:
                    self._client, self._last_contact = client, time.monotonic()
                    if failed:
                        self.faults.record(self.ven_name, "reconnected",
                                           f"registered as {client.ven_id}")
                    backoff.reset()
                    break
                detail = (f"VTN at {self.vtn_url} answered but did not register us"
                          if self._contact else f"no answer from the VTN at {self.vtn_url}")
            if not failed:
                self.faults.record(self.ven_name, "connection_refused", detail)
                failed = True
            await asyncio.sleep(backoff.next_delay_s())
        await self._watch()

    async def _watch(self) -> None:
        """Record ``disconnected`` when a registered VEN hears nothing for three polls."""
        while not self._stopping and self._client is not None:
            poll_s = self._client.poll_frequency.total_seconds() if self._client.poll_frequency \
                else 10.0
            await asyncio.sleep(poll_s)
            silent_s = time.monotonic() - self._last_contact
            if not self._down and silent_s > 3 * poll_s + self.policy.timeout_s:
                self._down = True
                self.faults.record(self.ven_name, "disconnected",
                                   f"no answer from the VTN for {silent_s:.1f} s")

    async def _on_contact(self, _content: str) -> None:
        self._contact, self._last_contact = True, time.monotonic()
        if self._down:
            self._down = False
            self.faults.record(self.ven_name, "reconnected", "the VTN answers again")

    async def _check_schema(self, content: str) -> None:
        """openleadr drops a message that fails the schema with a log line only; record it."""
        try:
            validate_xml_schema(content)
        except XMLSyntaxError as err:
            self.faults.record(self.ven_name, "malformed",
                               f"VTN message fails the OpenADR 2.0b schema: {err}")

    def _sample(self) -> Any:
        p_kw = self._p_kw
        return [] if p_kw is None else p_kw  # [] only if cleared between check and sample

    def _default_can_comply(self, constraint: SiteConstraint) -> bool:
        return can_comply(constraint.site_limit_kw, self._inflexible_kw, self._flexible_kw)

    def _decide(self, constraints: list[SiteConstraint]) -> str:
        for c in constraints:
            if c.site_limit_kw is None:
                continue  # prices and SIMPLE level 0: nothing to comply with
            try:
                ok = bool(self._can_comply(c))
            except Exception as err:  # noqa: BLE001 - a faulty callback must not kill the VEN
                self.faults.record(self.ven_name, "malformed",
                                   f"can_comply failed for event {c.event_id}: {err}")
                ok = False
            if not ok:
                return "optOut"
        return "optIn"

    async def _on_event(self, event: dict) -> str:
        try:
            constraints = constraints_from_event(event, self.site_capacity_kw, self.levels)
        except MalformedEvent as err:
            self.faults.record(self.ven_name, "malformed", f"{err}; ignored")
            return "optOut"
        except Exception as err:  # noqa: BLE001 - never let an event crash the client
            self.faults.record(self.ven_name, "malformed",
                               f"event not understood ({type(err).__name__}: {err}); ignored")
            return "optOut"
        opt = self._decide(constraints)
        event_id = constraints[0].event_id
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            self._constraints[event_id] = [replace(c, opted_in=opt == "optIn")
                                           for c in constraints]
            for eid in [eid for eid, cs in self._constraints.items()
                        if all((now - c.end_utc).total_seconds() > KEEP_ENDED_S for c in cs)]:
                del self._constraints[eid]
        return opt

    async def _on_update_event(self, event: dict) -> str:
        descriptor = event.get("event_descriptor") or {}
        if descriptor.get("event_status") == "cancelled":
            with self._lock:
                self._constraints.pop(str(descriptor.get("event_id")), None)
            return "optIn"
        return await self._on_event(event)


def _aware(t_utc: dt.datetime) -> None:
    if not isinstance(t_utc, dt.datetime) or t_utc.tzinfo is None:
        raise ValueError(f"t_utc: {t_utc!r} must be a timezone-aware datetime")


async def _stop_client(client: openleadr.OpenADRClient) -> None:
    """openleadr's ``stop`` fails when no HTTP session was opened; be tolerant."""
    try:
        if client.scheduler.running:
            client.scheduler.shutdown(wait=False)
        if client.report_queue_task:
            client.report_queue_task.cancel()
        if client.client_session is not None and not client.client_session.closed:
            await asyncio.sleep(0)  # let the scheduler's shutdown run first
            await client.client_session.close()
    except Exception:  # noqa: BLE001 - best effort while stopping
        pass
