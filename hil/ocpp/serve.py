"""Standalone CSMS with the default smart-charging policy (``python run.py csms``).

Sign convention: positive = consumption / charging / import; the limits sent are
import limits >= 0 kW.

Every station that starts a transaction gets a TxProfile within a second: with a
scenario whose strategy is FlexMeasures scheduling, the plan of :mod:`hil.ocpp.scheduled`
(the EVs' needs against the scenario's tariff and site capacity); otherwise the policy
of :mod:`hil.ocpp.policy` (spread the EV's energy request evenly until its departure,
else full power) is re-planned on every transaction start or end, every
NotifyEVChargingNeeds and every meter value, at most once per ``replan_s``; a station
gets a new profile when its limit moved by more than ``min_change_kw`` (0.1 kW).

A station's own maximum is the ``p_max_kw`` of the scenario's ev_charger with the
same id as the station, else ``default_p_max_kw`` (22 kW); the EV's maximum from its
charging needs lowers it. With a scenario, the sessions share the site capacity
``grid.trafo_sn_kva`` taken as kW (unity power factor), max-min fair: small wants are
served in full and the rest split equally. Household loads and PV behind the same
transformer are not known to the CSMS and not counted (a known gap).

One line is printed per event: ``<UTC time> <station> <event> <details>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hil.ocpp.csms import Csms, StationNotConnected, server_ssl_context
from hil.ocpp.policy import Session, plan_kw
from hil.ocpp.rpc import LOG, iso_utc
from hil.ocpp.scheduled import scheduled_kw
from twin.scenario.assets import resolve_assets
from twin.scenario.errors import ScenarioError
from twin.scenario.loading import load_scenario

DEFAULT_P_MAX_KW = 22.0


class SmartCharging:
    """Attach the default policy to a running :class:`Csms`."""

    def __init__(self, csms: Csms, site_capacity_kw: float | None = None,
                 p_max_kw: dict[str, float] | None = None,
                 default_p_max_kw: float = DEFAULT_P_MAX_KW, min_change_kw: float = 0.1,
                 replan_s: float = 0.2, out: Callable[[str], Any] | None = print,
                 scenario=None):
        self.csms, self.site_capacity_kw = csms, site_capacity_kw
        # a scenario with FlexMeasures scheduling plans the sessions (hil.ocpp.scheduled)
        self.scenario = scenario if scenario is not None and \
            scenario.scheduling.strategy == "flexmeasures" else None
        self.p_max_kw, self.default_p_max_kw = dict(p_max_kw or {}), default_p_max_kw
        self.min_change_kw, self.replan_s, self.out = min_change_kw, replan_s, out
        self.sent_kw: dict[str, tuple[str, float]] = {}  # station -> (transaction, kW)
        self._pending: asyncio.Task | None = None
        csms.add_listener(self._on_event)

    def _on_event(self, station_id: str, event: str, detail: dict) -> None:
        if self.out is not None:
            text = " ".join(f"{k}={_fmt(v)}" for k, v in detail.items())
            self.out(f"{iso_utc(time.time())} {station_id} {event} {text}".rstrip())
        if event in ("tx_started", "tx_updated", "tx_ended", "needs", "meter", "booted"):
            if self._pending is None or self._pending.done():
                self._pending = asyncio.ensure_future(self._replan_soon())

    def sessions(self) -> list[Session]:
        out = []
        for sid, st in self.csms.stations.items():
            if not (st.connected and st.transactions):
                continue
            p_max = self.p_max_kw.get(sid, self.default_p_max_kw)
            if math.isfinite(st.ev_p_max_kw):
                p_max = min(p_max, st.ev_p_max_kw)
            out.append(Session(sid, p_max, st.e_remaining_kwh, st.ev_departure_unix_s))
        return out

    async def _replan_soon(self) -> None:
        await asyncio.sleep(self.replan_s)
        await self.replan()

    async def replan(self) -> dict[str, float]:
        """Plan every active session and send the limits that changed."""
        if self.scenario is not None:
            plan = await asyncio.get_running_loop().run_in_executor(
                None, scheduled_kw, self.sessions(), time.time(), self.scenario)
        else:
            plan = plan_kw(self.sessions(), time.time(), self.site_capacity_kw)
        for sid, p_kw in plan.items():
            st = self.csms.stations[sid]
            tx = st.transactions[st.active_evse()]
            last = self.sent_kw.get(sid)
            if last and last[0] == tx and abs(last[1] - p_kw) <= self.min_change_kw:
                continue
            try:
                status = await self.csms.set_power_limit(sid, round(p_kw, 1))
            except (StationNotConnected, TimeoutError, ValueError) as exc:
                LOG.warning("policy: no profile to %s: %s", sid, exc)
                continue
            except Exception as exc:  # noqa: BLE001 - a bad answer must not stop the policy
                LOG.warning("policy: profile to %s failed: %r", sid, exc)
                continue
            if status == "Accepted":
                self.sent_kw[sid] = (tx, p_kw)
        return plan


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _site(scenario) -> tuple[float | None, dict[str, float]]:
    if scenario is None:
        return None, {}
    chargers = resolve_assets(scenario)["ev_charger"]
    return float(scenario.grid.trafo_sn_kva), {a.id: a.spec.p_max_kw for a in chargers}


async def run_csms(host: str = "127.0.0.1", port: int = 9000, scenario=None,
                   password: str | None = None, tls_cert: str | None = None,
                   tls_key: str | None = None, *, stop_event: asyncio.Event | None = None,
                   started: asyncio.Future | None = None,
                   out: Callable[[str], Any] | None = print) -> None:
    """Serve until ``stop_event`` is set; ``started`` gets ``(csms, port)``."""
    ssl_context = server_ssl_context(tls_cert, tls_key) if tls_cert else None
    csms = Csms(password=password, ssl_context=ssl_context)
    capacity, p_max = _site(scenario)
    policy = SmartCharging(csms, capacity, p_max, out=out, scenario=scenario)
    bound = await csms.start(host, port)
    if out is not None:
        scheme = "wss" if ssl_context else "ws"
        site = f", site capacity {capacity:g} kW" if capacity is not None else ""
        how = "FlexMeasures scheduling" if policy.scenario is not None else "even spread"
        out(f"CSMS listening on {scheme}://{host}:{bound}/<station id>{site}, {how}")
    if started is not None:
        started.set_result((csms, bound))
    stop_event = stop_event or asyncio.Event()
    try:
        await stop_event.wait()
    finally:
        await csms.stop()


def serve(host: str = "127.0.0.1", port: int = 9000, scenario=None, password: str | None = None,
          tls_cert: str | None = None, tls_key: str | None = None) -> None:
    """Blocking standalone CSMS until Ctrl-C or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await run_csms(host, port, scenario, password, tls_cert, tls_key, stop_event=stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python run.py csms``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=9000, help="TCP port (default: %(default)s)")
    parser.add_argument("--scenario", help="scenario YAML: site capacity and charger ratings")
    parser.add_argument("--password", help="basic-auth password (security profile 1, or 2 "
                        "with TLS); the user name is the station id")
    parser.add_argument("--tls-cert", help="PEM certificate: serve wss:// (security profile 2)")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")


def check_args(args: argparse.Namespace) -> list[str]:
    """Problems with the options, each naming the option, the value and what is allowed."""
    problems = []
    if not 0 <= args.port <= 65535:
        problems.append(f"--port {args.port}: need 0..65535")
    if bool(args.tls_cert) != bool(args.tls_key):
        problems.append("--tls-cert and --tls-key go together: give both or neither")
    for opt, value in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key),
                       ("--scenario", args.scenario)):
        if value and not Path(value).is_file():
            problems.append(f"{opt} {value}: file not found")
    if args.password is not None and not args.password:
        problems.append("--password: must not be empty")
    if not problems and args.tls_cert:
        try:
            server_ssl_context(args.tls_cert, args.tls_key)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            problems.append(f"--tls-cert {args.tls_cert} / --tls-key {args.tls_key}: "
                            f"not a usable PEM certificate and key ({exc})")
    return problems


def main(args: argparse.Namespace) -> int:
    """Run the standalone CSMS; 2 with a message on bad options, else 0 when stopped."""
    problems = check_args(args)
    scenario = None
    if not problems and args.scenario:
        try:
            scenario = load_scenario(args.scenario)
        except (ScenarioError, ImportError) as exc:
            problems.append(f"--scenario {args.scenario}: {exc}")
    if problems:
        for problem in problems:
            print(f"csms: {problem}", file=sys.stderr)
        return 2
    try:
        serve(args.host, args.port, scenario, args.password, args.tls_cert, args.tls_key)
    except OSError as exc:
        print(f"csms: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0
