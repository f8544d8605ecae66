"""What every HIL bridge shares: the background event loop, the fault log, reconnect
backoff, the watchdog that turns a silent device into a held, then safe, setpoint, and
the asyncio helper :func:`wait_any`.

A bridge translates one protocol to and from the twin's suffixed attributes (``p_kw``,
``soc_percent``, ``e_kwh``, ...). It holds no physics and no strategy. Sign convention:
positive = consumption / charging / import, so a PV inverter's ``p_kw`` is negative.

Threading: the protocol stacks here (pymodbus, ocpp over websockets, openleadr) are
asyncio. All bridges of a run share one event loop in a background thread
(:class:`BackgroundLoop`); the mosaik adapter, in the main thread, only calls the
non-blocking :meth:`Bridge.request` and :meth:`Bridge.latest`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

# Fault kinds a bridge records; each names what happened, not what was done about it,
# except ``reconnected``, ``hold`` and ``fallback``, which record the bridge's reaction.
FAULT_KINDS = (
    "connection_refused",  # the endpoint refused or does not exist
    "disconnected",        # an established link went away
    "timeout",             # a request got no answer in time
    "malformed",           # a frame or message that does not parse or fails its schema
    "out_of_range",        # a value outside what the device's nameplate allows
    "not_implemented",     # a point the device does not implement (SunSpec NaN value)
    "stale",               # no fresh measurement for longer than stale_after_s
    "clock_skew",          # the device's timestamp is off the twin's clock
    "write_rejected",      # a setpoint the device refused or did not take (read-back)
    "reconnected",         # link up again after a fault
    "hold",                # setpoint held at its last safe value while the device is silent
    "fallback",            # hold expired: setpoint forced to the safe state (zero power)
)


@dataclass(frozen=True)
class Fault:
    """One recorded fault. ``t_utc`` is wall time, ``t_s`` the run's simulation time
    (None when the fault happened outside a run, e.g. in an emulator)."""

    t_utc: str
    asset_id: str
    kind: str
    detail: str
    t_s: float | None = None


class FaultLog:
    """Thread-safe list of faults, shared by the bridges of a run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.sim_time_s: float | None = None  # the adapter keeps it current

    def record(self, asset_id: str, kind: str, detail: str = "") -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind {kind!r} is not one of {', '.join(FAULT_KINDS)}")
        fault = Fault(dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                      asset_id, kind, detail, self.sim_time_s)
        with self._lock:
            self._faults.append(fault)
        return fault

    def all(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def kinds(self, asset_id: str | None = None) -> list[str]:
        return [f.kind for f in self.all() if asset_id is None or f.asset_id == asset_id]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


class Backoff:
    """Exponential reconnect delay: ``initial_s``, times ``factor`` per failure, at most
    ``max_s``; :meth:`reset` after a success."""

    def __init__(self, initial_s: float = 0.2, factor: float = 2.0, max_s: float = 5.0):
        if initial_s <= 0 or factor < 1 or max_s < initial_s:
            raise ValueError("backoff: need initial_s > 0, factor >= 1, max_s >= initial_s")
        self.initial_s, self.factor, self.max_s = initial_s, factor, max_s
        self._next = initial_s

    def next_delay_s(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.max_s)
        return delay

    def reset(self) -> None:
        self._next = self.initial_s


@dataclass(frozen=True)
class FaultPolicy:
    """How a bridge reacts to a silent device. Times are wall seconds.

    - a measurement older than ``stale_after_s`` is stale;
    - while stale, the last safe setpoint is held for ``hold_s``;
    - then the setpoint falls back to the safe state, zero power, until fresh data return.
    """

    timeout_s: float = 2.0
    stale_after_s: float = 3.0
    hold_s: float = 5.0
    max_clock_skew_s: float = 5.0
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 5.0

    def backoff(self) -> Backoff:
        return Backoff(self.backoff_initial_s, 2.0, self.backoff_max_s)


@dataclass
class Measurement:
    """The latest values read from a device, in the twin's attributes, and when."""

    values: dict[str, float]
    t_mono: float = field(default_factory=time.monotonic)  # when it was read (monotonic)

    def age_s(self, now_mono: float | None = None) -> float:
        return (time.monotonic() if now_mono is None else now_mono) - self.t_mono


class Watchdog:
    """Pure state machine for one device: ``fresh`` -> ``hold`` -> ``fallback``.

    :meth:`update` takes the age of the latest measurement (None: never measured) and
    returns the state; transitions are recorded in the fault log once each.
    """

    def __init__(self, asset_id: str, policy: FaultPolicy, faults: FaultLog):
        self.asset_id, self.policy, self.faults = asset_id, policy, faults
        self.state = "fresh"
        self._stale_since: float | None = None

    def update(self, age_s: float | None, now_mono: float | None = None) -> str:
        now = time.monotonic() if now_mono is None else now_mono
        if age_s is not None and age_s <= self.policy.stale_after_s:
            if self.state != "fresh":
                self.faults.record(self.asset_id, "reconnected", f"fresh data after {self.state}")
            self.state, self._stale_since = "fresh", None
            return self.state
        if self._stale_since is None:
            self._stale_since = now
            what = "never measured" if age_s is None else f"last measurement {age_s:.1f} s old"
            self.faults.record(self.asset_id, "stale", what)
            self.faults.record(self.asset_id, "hold",
                               f"holding the last setpoint for {self.policy.hold_s:g} s")
            self.state = "hold"
        if self.state == "hold" and now - self._stale_since > self.policy.hold_s:
            self.faults.record(self.asset_id, "fallback", "setpoint forced to 0 kW")
            self.state = "fallback"
        return self.state


class BackgroundLoop:
    """One asyncio event loop in a daemon thread; coroutines are submitted from others."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="hil-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, Any], timeout_s: float | None = None) -> Any:
        """Run ``coro`` on the loop and wait for its result."""
        return self.submit(coro).result(timeout_s)

    def stop(self) -> None:
        if not self.loop.is_running():
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.submit(_cancel_all()).result(5)
        except Exception:  # noqa: BLE001 - shutting down: nothing left to save
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


async def wait_any(*events: asyncio.Event, timeout_s: float) -> bool:
    """Wait until one of ``events`` is set (True) or ``timeout_s`` passed (False)."""
    if any(e.is_set() for e in events):
        return True
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=max(timeout_s, 0.0),
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
    return bool(done)


class Bridge(ABC):
    """One device behind a protocol, seen by the twin as the simulator it replaces.

    Subclasses run their protocol I/O on ``self.loop`` and keep ``self._latest``
    current; they record every fault in ``self.faults`` and reconnect by themselves.
    """

    kind: str = ""  # pv | battery | ev_charger

    def __init__(self, asset_id: str, loop: BackgroundLoop, faults: FaultLog,
                 policy: FaultPolicy | None = None):
        self.asset_id, self.loop, self.faults = asset_id, loop, faults
        self.policy = policy or FaultPolicy()
        self._latest: Measurement | None = None
        self.setpoint_kw: float | None = None  # last setpoint requested by the twin

    @abstractmethod
    def start(self) -> None:
        """Begin connecting (non-blocking); the bridge keeps reconnecting until stop()."""

    @abstractmethod
    def stop(self) -> None:
        """Close the link and stop background tasks (blocking, bounded)."""

    @abstractmethod
    def request(self, p_set_kw: float) -> None:
        """Ask the device for ``p_set_kw`` (twin sign; non-blocking). The bridge clamps
        it to the device's limits, writes it when the link is up and records a
        ``write_rejected`` fault when the read-back differs."""

    def latest(self) -> Measurement | None:
        """The freshest measurement, or None before the first one."""
        return self._latest

    def _publish(self, values: dict[str, float]) -> None:
        self._latest = Measurement(dict(values))
