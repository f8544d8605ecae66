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
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math

from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.exceptions import NotSupportedError, OCPPError
from ocpp.messages import Call, CallError, MessageType, unpack

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


def _message_id(raw: str | bytes) -> str:
    """The message id of a frame when it can be read, else ``"-1"`` (OCPP-J 4.2.3)."""
    try:
        msg = json.loads(raw)
    except (ValueError, TypeError):
        return "-1"
    if isinstance(msg, list) and len(msg) > 1 and isinstance(msg[1], str) and msg[1]:
        return msg[1][:36]
    return "-1"


class RpcMixin:
    """Mix into an ``ocpp.v201.ChargePoint`` subclass (before it) to answer malformed
    frames with a CALLERROR and report them, the CALL and the reason, to
    :meth:`on_malformed`."""

    def on_malformed(self, detail: str) -> None:  # overridden by the users
        LOG.warning("%s: malformed message: %s", getattr(self, "id", "?"), detail)

    async def route_message(self, raw_msg):  # noqa: D401 - ocpp's hook
        try:
            msg = unpack(raw_msg)
        except OCPPError as exc:
            self.on_malformed(f"{exc.code}: {exc.details.get('cause', exc.description)}")
            error = CallError(_message_id(raw_msg), exc.code, exc.description,
                              {"cause": str(exc.details.get("cause", ""))[:200]})
            await self._send(error.to_json())
            return
        if msg.message_type_id != MessageType.Call:
            self._response_queue.put_nowait(msg)
            return
        if not isinstance(msg.payload, dict) or not isinstance(msg.action, str):
            self.on_malformed("CALL without an action name or an object payload")
            await self._send(CallError(str(msg.unique_id), "FormatViolation",
                                       "CALL needs an action name and an object payload",
                                       {}).to_json())
            return
        try:
            await self._handle_call(msg)
        except OCPPError as exc:
            if not isinstance(exc, OcppNotImplemented | NotSupportedError):
                cause = exc.details.get("cause", exc.description)
                self.on_malformed(f"{msg.action}: {exc.code}: {cause}")
            await self._send(Call.create_call_error(msg, exc).to_json())
