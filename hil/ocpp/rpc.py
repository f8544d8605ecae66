"""OCPP-J plumbing shared by the CSMS and the station emulator: time stamps, the
malformed-message reply the ``ocpp`` package leaves out, and unit helpers.

Sign convention: positive = consumption / charging / import (OCPP's
``Power.Active.Import`` and ``Energy.Active.Import.Register`` are import quantities, so
they map to the twin's ``p_kw`` and ``e_kwh`` without a sign change).

Schema validation. ``ocpp.ChargePoint`` validates, against the official OCPP 2.0.1 JSON
schemas shipped in ``ocpp/v201/schemas``: every incoming CALL before its handler runs
and the handler's CALLRESULT before it is sent (``_handle_call``); every outgoing CALL
before it is sent and the CALLRESULT that answers it (``call``). An invalid incoming
CALL is answered with a CALLERROR (``FormatViolation``, ``TypeConstraintViolation``,
``ProtocolError``, ... by the failing schema keyword). We keep all of it on: no handler
here uses ``skip_schema_validation``.

What the package does not do: a frame that is not JSON, or not an OCPP-J array, is
only logged by ``ChargePoint.route_message`` and gets no answer. OCPP 2.0.1 part 4
(section 4.2.3) asks for a CALLERROR, with message id ``"-1"`` when the id cannot be
read. :class:`RpcMixin` adds that reply and reports every malformed message through
:meth:`RpcMixin.on_malformed`.

What the package lets through, closed here (found by the seeded mutation tests in
``tests/hil/test_ocpp_mutations.py``): ``NaN`` / ``Infinity`` and numbers beyond a
double (``1e999`` parses as inf), integers of thousands of digits (a ValueError that
escaped and closed the link), nesting deep enough for a RecursionError, and
``date-time`` fields that are not RFC 3339 with a zone (the package validates without a
format checker; the handlers then failed with ``InternalError``). All of these get a
``FormatViolation``; a messageId that is not a string of 1-36 characters gets
``RpcFrameworkError``. :meth:`RpcMixin.check_call` is a subclass's hook for values the
schema allows but the receiver cannot use (``PropertyConstraintViolation``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from pathlib import Path

import ocpp.v201
from jsonschema import Draft4Validator, FormatChecker
from ocpp.exceptions import (
    FormatViolationError,
    NotSupportedError,
    OCPPError,
)
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.messages import Call, CallError, MessageType, unpack, validate_payload

SUBPROTOCOL = "ocpp2.0.1"
V_PHASE = 230.0  # nominal phase voltage used to turn amperes into watts [V]
PHASES = {"AC_single_phase": 1, "AC_two_phase": 2, "AC_three_phase": 3}

LOG = logging.getLogger("hil.ocpp")


def iso_utc(t_unix_s: float) -> str:
    """RFC 3339 UTC time stamp with milliseconds and a ``Z``, as OCPP wants it."""
    t = dt.datetime.fromtimestamp(t_unix_s, dt.UTC)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_unix_s(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time stamp (``Z`` or an offset).

    Raises ValueError naming the value when it has no time zone.
    """
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError(f"time stamp {text!r} has no time zone; OCPP wants UTC ('Z')")
    return t.timestamp()


def amps_to_kw(current_a: float, phases: int = 3) -> float:
    """Power of a balanced AC current at :data:`V_PHASE`. [kW]"""
    return current_a * V_PHASE * phases / 1000.0


def kw_to_amps(p_kw: float, phases: int = 3) -> float:
    """Per-phase current of a balanced AC power at :data:`V_PHASE`. [A]"""
    return p_kw * 1000.0 / (V_PHASE * phases)


def finite_or_nan(x: float | None) -> float:
    return float("nan") if x is None or not math.isfinite(x) else float(x)


MAX_DEPTH = 32  # nesting of an OCPP-J frame; the deepest 2.0.1 message needs about 8
MAX_INT_DIGITS = 20  # an OCPP integer is at most 64 bits
MAX_ID_CHARS = 36  # OCPP-J messageId (part 4, 4.1.3)
SCHEMAS = Path(ocpp.v201.__file__).parent / "schemas"


class RpcFrameworkError(OCPPError):
    """OCPP 2.0.1 part 4 error code the ``ocpp`` package does not define: "content of the
    call is not a valid RPC Request, for example: MessageId could not be read"."""

    code = "RpcFrameworkError"
    default_description = "The call is not a valid RPC request"


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NotJson(f"{name} is not a JSON number (RFC 8259)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"number {text[:40]} does not fit a double")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NotJson(f"integer of {len(text)} digits is larger than 64 bits")
    return int(text)


def _depth(obj) -> int:
    deepest, stack = 0, [(obj, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node \
            if isinstance(node, list) else ()
        stack.extend((c, d + 1) for c in children)
    return deepest


def strict_json(raw: str | bytes):
    """A frame as RFC 8259 JSON, or FormatViolationError naming why not: NaN and
    Infinity are not JSON, numbers must fit a double / 64-bit integer, nesting at most
    :data:`MAX_DEPTH` (Python's ``json`` accepts all of these or fails with other errors)."""
    try:
        obj = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float,
                         parse_int=_bounded_int)
    except _NotJson as exc:
        raise FormatViolationError(details={"cause": f"Message is not valid JSON: {exc}"}) \
            from None
    except (ValueError, TypeError, RecursionError):
        raise FormatViolationError(details={"cause": "Message is not valid JSON"}) from None
    if _depth(obj) > MAX_DEPTH:
        raise FormatViolationError(details={"cause": f"Message nests deeper than {MAX_DEPTH}"})
    return obj


def _message_id(obj) -> str:
    """The message id of a parsed frame when it can be read, else ``"-1"`` (4.2.3)."""
    if isinstance(obj, list) and len(obj) > 1 and isinstance(obj[1], str) \
            and 0 < len(obj[1]) <= MAX_ID_CHARS:
        return obj[1]
    return "-1"


def _stamp_ok(text: object) -> bool:
    if not isinstance(text, str):
        return True  # the type check is the schema's
    try:
        parse_unix_s(text)
    except (ValueError, OverflowError, OSError):
        return False
    return True


_DATE_TIME = FormatChecker(formats=())
_DATE_TIME.checks("date-time")(_stamp_ok)
_format_validators: dict[str, Draft4Validator | None] = {}


def check_formats(action: str, payload: dict) -> None:
    """FormatViolationError when a ``date-time`` field of a CALL is not an RFC 3339 time
    with a zone that Python can represent: the ``ocpp`` package validates without a
    format checker, so the handlers would fail on such a value."""
    if action not in _format_validators:
        path = SCHEMAS / f"{action}Request.json"
        _format_validators[action] = None if not path.is_file() else Draft4Validator(
            json.loads(path.read_text(encoding="utf-8-sig")), format_checker=_DATE_TIME)
    validator = _format_validators[action]
    if validator is None:
        return
    for err in validator.iter_errors(payload):
        if err.validator == "format":
            where = ".".join(map(str, err.absolute_path)) or "payload"
            raise FormatViolationError(details={
                "cause": f"{where}: {str(err.instance)[:60]!r} is not an RFC 3339 date-time "
                         "with a time zone"})


class RpcMixin:
    """Mix into an ``ocpp.v201.ChargePoint`` subclass (before it) to answer malformed
    frames with a CALLERROR and report them, the CALL and the reason, to
    :meth:`on_malformed`; :meth:`check_call` adds the subclass's own value checks."""

    def on_malformed(self, detail: str) -> None:  # overridden by the users
        LOG.warning("%s: malformed message: %s", getattr(self, "id", "?"), detail)

    def check_call(self, msg: Call) -> None:
        """Raise an ``OCPPError`` for a schema-valid CALL whose values cannot be used."""

    async def _reject(self, unique_id: str, exc: OCPPError, what: str = "") -> None:
        cause = str(exc.details.get("cause", exc.description))[:200]
        self.on_malformed(f"{what}{exc.code}: {cause}")
        await self._send(CallError(unique_id, exc.code, exc.description,
                                   {"cause": cause}).to_json())

    async def route_message(self, raw_msg):  # noqa: D401 - ocpp's hook
        obj = None
        try:
            obj = strict_json(raw_msg)
            msg = unpack(raw_msg)
        except OCPPError as exc:
            await self._reject(_message_id(obj), exc)
            return
        if msg.message_type_id != MessageType.Call:
            self._response_queue.put_nowait(msg)
            return
        if _message_id(obj) == "-1":
            await self._reject("-1", RpcFrameworkError(details={
                "cause": f"messageId must be a string of 1 to {MAX_ID_CHARS} characters"}))
            return
        if not isinstance(msg.payload, dict) or not isinstance(msg.action, str):
            await self._reject(msg.unique_id, FormatViolationError(details={
                "cause": "CALL needs an action name and an object payload"}))
            return
        try:
            if msg.action in self.route_map:  # else ocpp answers NotImplemented
                await validate_payload(msg, self._ocpp_version)
                check_formats(msg.action, msg.payload)
                self.check_call(msg)
            await self._handle_call(msg)
        except OCPPError as exc:
            if isinstance(exc, OcppNotImplemented | NotSupportedError):
                await self._send(Call.create_call_error(msg, exc).to_json())
            else:
                await self._reject(msg.unique_id, exc, f"{msg.action}: ")
