"""Seeded mutation campaign on OCPP-J frames over real websockets on 127.0.0.1: into the
twin's CSMS (as a station would send them) and into the station emulator (as a CSMS
would). Each bad frame gets the protocol's answer (a CALLRESULT, or a CALLERROR with an
OCPP-J code other than InternalError / GenericError; a frame that is not JSON always a
CALLERROR), no traceback is logged, and a good frame is served right after, in bounded
time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re

import pytest
import websockets

from hil.ocpp.csms import Csms
from hil.ocpp.rpc import iso_utc
from hil.ocpp.station import StationEmulator
from tests.hil.mutate import Mutator, dump
from tests.hil.ocpp.ocpp_testkit import small_scenario, until, validator

N_MUTATIONS = 300
PROPER = {"FormatViolation", "TypeConstraintViolation", "ProtocolError",
          "PropertyConstraintViolation", "OccurrenceConstraintViolation", "NotImplemented",
          "NotSupported", "RpcFrameworkError", "SecurityError"}
T = "2026-06-01T12:00:00.000Z"
METER = [{"timestamp": T, "sampledValue": [
    {"value": 7200.0, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
    {"value": 1500.0, "measurand": "Energy.Active.Import.Register",
     "unitOfMeasure": {"unit": "Wh", "multiplier": 0}},
    {"value": 55.0, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}}]}]
TO_CSMS = [
    ("BootNotification", {"chargingStation": {"model": "m", "vendorName": "v"},
                          "reason": "PowerUp"}),
    ("Heartbeat", {}),
    ("StatusNotification", {"timestamp": T, "connectorStatus": "Occupied", "evseId": 1,
                            "connectorId": 1}),
    ("Authorize", {"idToken": {"idToken": "tok", "type": "ISO14443"}}),
    ("TransactionEvent", {"eventType": "Started", "timestamp": T, "triggerReason": "CablePluggedIn",
                          "seqNo": 0, "transactionInfo": {"transactionId": "tx1"},
                          "evse": {"id": 1, "connectorId": 1},
                          "idToken": {"idToken": "tok", "type": "ISO14443"}, "meterValue": METER}),
    ("TransactionEvent", {"eventType": "Updated", "timestamp": T, "triggerReason": "MeterValuePeriodic",
                          "seqNo": 1, "transactionInfo": {"transactionId": "tx1",
                                                          "chargingState": "Charging"},
                          "meterValue": METER, "offline": False}),
    ("MeterValues", {"evseId": 1, "meterValue": METER}),
    ("NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": {
        "requestedEnergyTransfer": "AC_three_phase", "departureTime": T,
        "acChargingParameters": {"energyAmount": 20000, "evMinCurrent": 6,
                                 "evMaxCurrent": 16, "evMaxVoltage": 400}}}),
    ("NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": {
        "requestedEnergyTransfer": "DC", "dcChargingParameters": {
            "evMaxCurrent": 100, "evMaxVoltage": 500, "energyAmount": 30000,
            "evMaxPower": 50000, "stateOfCharge": 40}}}),
]


class Tracebacks(logging.Handler):
    """Collects every log record that carries an exception (a traceback)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        if record.exc_info:
            self.records.append(record)


@contextlib.contextmanager
def tracebacks():
    handler, root = Tracebacks(), logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


def _wire(frame: str | bytes) -> str | bytes:
    """A text frame, or a binary one for bytes that are not UTF-8 (OCPP-J wants text)."""
    if isinstance(frame, bytes):
        try:
            return frame.decode("utf-8")
        except UnicodeDecodeError:
            return frame
    return frame


def _is_json(text) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


async def _answers(ws, probe_id: str, timeout_s: float = 3.0) -> list:
    """Frames received until the answer to ``probe_id`` (that answer not included)."""
    out = []
    async with asyncio.timeout(timeout_s):
        while True:
            msg = json.loads(await ws.recv())
            if msg[1] == probe_id:
                assert msg[0] == 3, f"probe not answered with a CALLRESULT: {msg}"
                return out
            out.append(msg)


def _expected(frame, handled: set[str]) -> str | None:
    """What the official OCPP 2.0.1 schemas (jsonschema with format checking, not the
    ``ocpp`` package) say of a frame: "result" (a valid CALL of a handled action),
    "error" (a CALL that must get a CALLERROR), "none" (a CALLRESULT / CALLERROR sent to
    the receiver: no answer) or None (no opinion: answer either way)."""
    try:
        msg = _parse(frame)
    except (ValueError, RecursionError):
        return "error"
    if not isinstance(msg, list) or not msg or msg[0] not in (2, 3, 4):
        return "error"
    if msg[0] != 2:
        return None  # a stray answer, or a malformed one: no answer required either way
    if len(msg) != 4 or not isinstance(msg[1], str) or not 0 < len(msg[1]) <= 36 \
            or not isinstance(msg[2], str) or not isinstance(msg[3], dict):
        return "error"
    if msg[2] not in handled:
        return "error"
    if isinstance(frame, bytes):
        frame = frame.decode("utf-8")
    if _beyond_limits(frame):
        return None  # beyond the documented limits (nesting 32, 64-bit integers)
    return "result" if validator(f"{msg[2]}Request").is_valid(msg[3]) else "error"


def _parse(frame):
    """The frame as strict JSON: ValueError for NaN / Infinity and non-finite numbers."""
    def no_constant(name):
        raise ValueError(name)
    def finite(text):
        if not math.isfinite(float(text)):
            raise ValueError(text)  # RFC 8259 numbers are doubles here: 1e99999 is none
        return float(text)
    return json.loads(frame, parse_constant=no_constant, parse_float=finite)


def _beyond_limits(frame: str) -> bool:
    """Nested deeper than 32 or holding an integer of more than 20 digits."""
    return ("[" * 33) in frame or ("{" * 33) in frame or any(
        len(t) > 20 for t in re.findall(r"\d+", frame))


def _check_answers(i, m, frame, answers, seen, handled) -> None:
    what = f"mutation {i} ({m.describe()}): {str(frame)[:160]!r}"
    assert len(answers) <= 1, f"{what}: {len(answers)} answers {answers}"
    for ans in answers:
        assert ans[0] in (3, 4), f"{what}: answered with {ans}"
        if ans[0] == 4:
            assert ans[2] in PROPER, f"{what}: error code {ans[2]}: {ans}"
            seen.add(ans[2])
    expected = _expected(frame, handled)
    got = answers[0][0] if answers else None
    if expected == "error":
        assert got == 4, f"{what}: the schema refuses it, answer {answers}"
    elif expected == "result":  # PropertyConstraintViolation: a value beyond the twin's use
        assert got == 3 or answers[0][2] == "PropertyConstraintViolation", \
            f"{what}: the schema accepts it, answer {answers}"


async def _campaign(ws, templates, seed, probe, n=N_MUTATIONS) -> set[str]:
    m, seen = Mutator(seed), set()
    for i in range(n):
        action, payload = templates[i % len(templates)]
        frame = m.text([2, f"m{i}", action, payload])
        await ws.send(_wire(frame))
        await ws.send(json.dumps([2, f"probe{i}", *probe]))
        _check_answers(i, m, frame, await _answers(ws, f"probe{i}"), seen,
                       {a for a, _ in templates})
    return seen


def test_mutated_frames_into_the_csms():
    csms = Csms(response_timeout_s=2.0)

    async def run():
        port = await csms.start()
        try:
            url = f"ws://127.0.0.1:{port}/ocpp/fuzz1"
            async with websockets.connect(url, subprotocols=["ocpp2.0.1"],
                                          max_size=2**22) as ws:
                seen = await _campaign(ws, TO_CSMS, seed=12, probe=("Heartbeat", {}))
                # the CSMS still does its job: a clean session is tracked
                for k, (action, payload) in enumerate(TO_CSMS[:5]):
                    await ws.send(dump([2, f"ok{k}", action, payload]))
                    assert json.loads(await ws.recv())[0] == 3
                assert csms.stations["fuzz1"].connected
            return seen
        finally:
            await csms.stop()

    with tracebacks() as tbs:
        seen = asyncio.run(asyncio.wait_for(run(), 60))
    assert not tbs, [f"{r.name}: {r.getMessage()}" for r in tbs][:5]
    assert {"FormatViolation", "TypeConstraintViolation", "ProtocolError"} <= seen


# ---------------------------------------------------------------- into the station
def _profile(tx_id: str, kind: str = "Absolute") -> dict:
    schedule = {"id": 1, "chargingRateUnit": "W", "duration": 3600,
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000.0},
                                           {"startPeriod": 600, "limit": 3000.0,
                                            "numberPhases": 3}]}
    if kind != "Relative":
        schedule["startSchedule"] = iso_utc(1.78e9)
    profile = {"id": 7, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": kind, "chargingSchedule": [schedule],
               "transactionId": tx_id}
    if kind == "Recurring":
        profile["recurrencyKind"] = "Daily"
    return profile


def _to_station(tx_id: str) -> list[tuple[str, dict]]:
    default = {**_profile(tx_id), "chargingProfilePurpose": "TxDefaultProfile", "id": 8,
               "validFrom": iso_utc(1.7e9), "validTo": iso_utc(1.9e9)}
    del default["transactionId"]
    return [
        ("SetChargingProfile", {"evseId": 1, "chargingProfile": _profile(tx_id)}),
        ("SetChargingProfile", {"evseId": 1, "chargingProfile": _profile(tx_id, "Recurring")}),
        ("SetChargingProfile", {"evseId": 1, "chargingProfile": _profile(tx_id, "Relative")}),
        ("SetChargingProfile", {"evseId": 0, "chargingProfile": default}),
        ("GetCompositeSchedule", {"duration": 3600, "evseId": 1, "chargingRateUnit": "A"}),
        ("ClearChargingProfile", {"chargingProfileCriteria": {
            "chargingProfilePurpose": "TxProfile", "evseId": 1, "stackLevel": 0}}),
        ("ClearChargingProfile", {"chargingProfileId": 7}),
        ("RequestStartTransaction", {"idToken": {"idToken": "t", "type": "Central"},
                                     "remoteStartId": 3, "evseId": 1}),
        ("RequestStopTransaction", {"transactionId": "other"}),
    ]


class FuzzCsms:
    """A raw websocket server in the CSMS's place: answers the station's CALLs with a
    minimal valid CALLRESULT and lets the test send frames to the station."""

    RESULTS = {"BootNotification": {"currentTime": T, "interval": 60, "status": "Accepted"},
               "Authorize": {"idTokenInfo": {"status": "Accepted"}},
               "TransactionEvent": {}, "NotifyEVChargingNeeds": {"status": "Accepted"},
               "Heartbeat": {"currentTime": T}}

    def __init__(self):
        self.ws, self.connected, self.tx_id = None, asyncio.Event(), None
        self.replies: asyncio.Queue = asyncio.Queue()

    async def handler(self, ws):
        self.ws = ws
        self.connected.set()
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):  # the station stops
            async for text in ws:
                msg = json.loads(text)
                if msg[0] == 2:
                    if msg[2] == "TransactionEvent":
                        self.tx_id = msg[3]["transactionInfo"]["transactionId"]
                    await ws.send(json.dumps([3, msg[1], self.RESULTS.get(msg[2], {})]))
                else:
                    self.replies.put_nowait(msg)

    async def answers(self, probe_id: str, timeout_s: float = 3.0) -> list:
        out = []
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await self.replies.get()
                if msg[1] == probe_id:
                    assert msg[0] == 3, f"probe not answered with a CALLRESULT: {msg}"
                    return out
                out.append(msg)


def test_mutated_frames_into_the_station_emulator():
    fuzz = FuzzCsms()

    async def run():
        server = await websockets.serve(fuzz.handler, "127.0.0.1", 0,
                                        subprotocols=["ocpp2.0.1"], max_size=2**22)
        port = server.sockets[0].getsockname()[1]
        emu = StationEmulator(small_scenario(), "ev_charger_00", f"ws://127.0.0.1:{port}",
                              meter_interval_s=0.2)
        runner = asyncio.create_task(emu.run())
        try:
            await until(lambda: fuzz.tx_id is not None, 5, "the station's transaction")
            templates, m, seen = _to_station(fuzz.tx_id), Mutator(2012), set()
            probe = ("GetCompositeSchedule", {"duration": 60, "evseId": 1})
            for i in range(N_MUTATIONS):
                action, payload = templates[i % len(templates)]
                frame = m.text([2, f"m{i}", action, payload])
                await fuzz.ws.send(_wire(frame))
                await fuzz.ws.send(json.dumps([2, f"probe{i}", *probe]))
                _check_answers(i, m, frame, await fuzz.answers(f"probe{i}"), seen,
                               {a for a, _ in templates})
            # the station still charges under a good profile
            await fuzz.ws.send(dump([2, "good", *templates[0]]))
            await until(lambda: emu.limit_kw is not None or not fuzz.replies.empty(), 3,
                        "the good profile")
            assert emu.connected and not runner.done()
            return seen
        finally:
            await emu.stop()
            await runner
            server.close()
            await server.wait_closed()

    with tracebacks() as tbs:
        seen = asyncio.run(asyncio.wait_for(run(), 60))
    assert not tbs, [f"{r.name}: {r.getMessage()}" for r in tbs][:5]
    assert {"FormatViolation", "TypeConstraintViolation"} <= seen


# frames the campaign found, each one a defect before the fix: (frame, expected error code)
FOUND = [
    (dump([2, "a", "NotifyEVChargingNeeds", {"evseId": 1, "chargingNeeds": {
        "requestedEnergyTransfer": "DC", "departureTime": "2026-06-01T12:00:00"}}]),
     "FormatViolation"),  # was InternalError + a logged ValueError traceback
    (dump([2, "b", "MeterValues", {"evseId": 1, "meterValue": [{"timestamp": T, "sampledValue": [
        {"value": 1.0, "unitOfMeasure": {"unit": "Wh", "multiplier": 400}}]}]}]),
     "PropertyConstraintViolation"),  # was InternalError + OverflowError traceback
    ('[2, "c", "MeterValues", {"evseId": 1, "meterValue": [{"timestamp": "' + T
     + '", "sampledValue": [{"value": NaN}]}]}]', "FormatViolation"),  # was accepted: e_kwh NaN
    ('[2, "d", "Heartbeat", {"customData": {"vendorId": "v", "x": ' + "[" * 3000 + "]" * 3000
     + "}}]", "FormatViolation"),  # was RecursionError: link closed with 1011
    ('[2, "e", "Heartbeat", {"customData": {"vendorId": "v", "x": ' + "9" * 5000 + "}}]",
     "FormatViolation"),  # was ValueError (int digits): link closed with 1011
    ('[2, 42, "Heartbeat", {}]', "RpcFrameworkError"),  # a number as messageId
]


async def _answer_of(csms: Csms, frame: str, ping_after: bool = False) -> list:
    """The CSMS's answer to one raw frame from station "s"; with ``ping_after``, a good
    Heartbeat after it must still be answered."""
    port = await csms.start()
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/s",
                                      subprotocols=["ocpp2.0.1"]) as ws:
            await ws.send(frame)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 3))
            if ping_after:
                await ws.send(dump([2, "p", "Heartbeat", {}]))
                assert json.loads(await asyncio.wait_for(ws.recv(), 3))[:2] == [3, "p"]
            return answer
    finally:
        await csms.stop()


@pytest.mark.parametrize(("frame", "code"), FOUND)
def test_found_frames_get_their_callerror_and_state_stays_finite(frame, code):
    csms = Csms()
    with tracebacks() as tbs:
        answer = asyncio.run(_answer_of(csms, frame, ping_after=True))
    assert answer[0] == 4 and answer[2] == code, answer
    assert not tbs
    assert csms.stations["s"].e_kwh == 0.0


def test_station_rejects_a_composite_schedule_of_1e18_s_at_once():
    fuzz = FuzzCsms()

    async def run():
        server = await websockets.serve(fuzz.handler, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"])
        emu = StationEmulator(small_scenario(), "ev_charger_00",
                              f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        runner = asyncio.create_task(emu.run())
        try:
            await until(lambda: fuzz.tx_id is not None, 5, "the station's transaction")
            await fuzz.ws.send(dump([2, "r", "SetChargingProfile", {
                "evseId": 1, "chargingProfile": _profile(fuzz.tx_id, "Recurring")}]))
            await fuzz.ws.send(dump([2, "g", "GetCompositeSchedule",
                                     {"duration": 10**18, "evseId": 1}]))
            await fuzz.ws.send(dump([2, "p", "GetCompositeSchedule", {"duration": 60, "evseId": 1}]))
            async with asyncio.timeout(3):
                got = {m[1]: m for m in [await fuzz.replies.get() for _ in range(3)]}
            return got
        finally:
            await emu.stop()
            await runner
            server.close()
            await server.wait_closed()

    got = asyncio.run(run())
    assert got["r"][2]["status"] == "Accepted"
    assert got["g"][2]["status"] == "Rejected"
    assert got["g"][2]["statusInfo"]["reasonCode"] == "DurationOutOfRange"
    assert got["p"][2]["status"] == "Accepted"


@pytest.mark.parametrize("frame", ["[2, \"x\", \"Heartbeat\", {}, 5]", "[]", "[9]", "[2]"])
def test_short_or_long_frames_get_a_callerror(frame):
    answer = asyncio.run(_answer_of(Csms(), frame))
    assert answer[0] == 4 and answer[2] in PROPER
