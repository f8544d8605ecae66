"""Shared pieces of the OCPP tests: a small scenario, the standalone CSMS on a free
port, a message recorder around a websocket, schema validation of recorded OCPP-J
frames and polling helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import ocpp.v201
from jsonschema import Draft6Validator, FormatChecker

from hil.ocpp.serve import run_csms
from twin.scenario.schema import Scenario

SCHEMAS = Path(ocpp.v201.__file__).parent / "schemas"


def small_scenario(trafo_sn_kva: float = 30.0, soc_initial: float = 50.0) -> Scenario:
    """Two 11 kW chargers and two 40 kWh EVs (50 % -> 80 %, eta 0.95)."""
    return Scenario.model_validate({
        "name": "ocpp_test", "start": "2026-06-01T00:00:00-04:00",
        "grid": {"trafo_sn_kva": trafo_sn_kva},
        "assets": {
            "ev_charger": {"count": 2, "defaults": {"p_max_kw": 11.0}},
            "ev": {"count": 2, "defaults": {"capacity_kwh": 40.0, "p_max_kw": 22.0,
                                            "soc_initial_percent": soc_initial,
                                            "soc_target_percent": 80.0}},
        },
    })


@contextlib.asynccontextmanager
async def standalone_csms(scenario: Scenario | None = None, out=None):
    """``python run.py csms`` in this loop (:func:`hil.ocpp.serve.run_csms`) on a free
    port of 127.0.0.1: yields ``(csms, port)``, stops it on exit (its errors raise)."""
    stop, started = asyncio.Event(), asyncio.get_running_loop().create_future()
    server = asyncio.create_task(run_csms("127.0.0.1", 0, scenario, stop_event=stop,
                                          started=started, out=out))
    try:
        yield await started
    finally:
        stop.set()
        await server


async def until(predicate, timeout_s: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 20 ms; AssertionError naming ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


class Recorder:
    """Wraps a websocket; records every frame as (direction, text)."""

    def __init__(self, ws, log: list[tuple[str, str]]):
        self._ws, self.log = ws, log

    async def recv(self):
        frame = await self._ws.recv()
        self.log.append(("in", frame))
        return frame

    async def send(self, frame):
        self.log.append(("out", frame))
        await self._ws.send(frame)

    def __getattr__(self, name):
        return getattr(self._ws, name)


_validators: dict[str, Draft6Validator] = {}


def validator(name: str) -> Draft6Validator:
    if name not in _validators:
        schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8-sig"))
        _validators[name] = Draft6Validator(schema, format_checker=FormatChecker())
    return _validators[name]


def validate_frames(log: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Validate every CALL / CALLRESULT of ``log`` against the official schema of its
    action (``<Action>Request`` / ``<Action>Response``); returns (direction, kind,
    action) per frame. Raises on a CALLERROR, an unpaired result or a schema error."""
    actions: dict[str, str] = {}
    seen = []
    for direction, text in log:
        msg = json.loads(text)
        if msg[0] == 2:
            _, uid, action, payload = msg
            actions[uid] = action
            validator(f"{action}Request").validate(payload)
            seen.append((direction, "Request", action))
        elif msg[0] == 3:
            _, uid, payload = msg
            action = actions.pop(uid)
            validator(f"{action}Response").validate(payload)
            seen.append((direction, "Response", action))
        else:
            raise AssertionError(f"CALLERROR on the wire ({direction}): {text}")
    return seen
