"""What the CSMS knows of each station, in the twin's attributes, and the small
helpers of its handshake (station id from the path, the TLS context).

Sign convention: positive = consumption / charging / import (``p_kw`` is the
station's ``Power.Active.Import``).
"""

from __future__ import annotations

import math
import ssl
import urllib.parse
from dataclasses import dataclass, field

from ocpp.exceptions import PropertyConstraintViolationError

NAN = math.nan


class StationNotConnected(LookupError):
    """The station is not connected (or has no transaction for the request)."""


@dataclass
class StationState:
    """What the CSMS knows of one station, in the twin's attributes.

    ``p_kw`` [kW] measured import, ``e_kwh`` [kWh] energy of the current (or last)
    session, ``soc_percent`` [%], ``ev_departure_unix_s`` [s since epoch, UTC wall
    clock], ``ev_e_request_kwh`` [kWh] energy requested at ``e_at_needs_kwh`` [kWh]
    of session energy, ``ev_p_max_kw`` [kW]; NaN where unknown. ``last_seen_mono`` is
    ``time.monotonic()`` at the last message. ``n_seq_gaps`` counts the transaction
    events never received (a skipped ``seqNo``), ``n_offline_events`` those delivered
    late with ``offline = true``.
    """

    station_id: str
    connected: bool = False
    booted: bool = False
    transactions: dict[int, str] = field(default_factory=dict)  # evse id -> transaction id
    connector_status: dict[int, str] = field(default_factory=dict)
    plugged: bool = False
    p_kw: float = NAN
    e_kwh: float = 0.0
    soc_percent: float = NAN
    ev_departure_unix_s: float = NAN
    ev_e_request_kwh: float = NAN
    ev_p_max_kw: float = NAN
    e_at_needs_kwh: float = 0.0
    meter_start_kwh: float | None = None
    last_seen_mono: float = NAN
    last_profile: dict | None = None
    limit_kw: float = NAN
    id_token: str | None = None
    n_connects: int = 0
    last_seq_no: int | None = None  # of the current transaction's events
    n_seq_gaps: int = 0  # transaction events missing (seqNo skipped), all transactions
    n_offline_events: int = 0  # transaction events the station queued while offline

    @property
    def e_remaining_kwh(self) -> float:
        """Energy the EV still asks for (NaN when it gave no request). [kWh]"""
        return max(self.ev_e_request_kwh - (self.e_kwh - self.e_at_needs_kwh), 0.0)

    def active_evse(self) -> int | None:
        return min(self.transactions) if self.transactions else None


def server_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """TLS 1.2+ server context from PEM files (security profile 2)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


def station_id_from_path(path: str) -> str:
    """The last non-empty segment of the request path, URL-decoded ('' if none)."""
    segments = [s for s in urllib.parse.urlsplit(path).path.split("/") if s]
    return urllib.parse.unquote(segments[-1]) if segments else ""


MAX_MULTIPLIER = 9  # |unitOfMeasure.multiplier|, a power of ten (kilo, mega, milli ...)


def check_meter(meter_values: list[dict] | None) -> None:
    """PropertyConstraintViolationError for a sampled value (camelCase, as on the wire)
    whose ``multiplier`` is beyond +-:data:`MAX_MULTIPLIER` or whose scaled value is not
    finite (``1e300`` with multiplier 9): the meter reading would overflow."""
    for i, mv in enumerate(meter_values or []):
        for j, sv in enumerate(mv.get("sampledValue", [])):
            mult = (sv.get("unitOfMeasure") or {}).get("multiplier", 0)
            where = f"meterValue.{i}.sampledValue.{j}"
            if abs(mult) > MAX_MULTIPLIER:
                raise PropertyConstraintViolationError(details={
                    "cause": f"{where}.unitOfMeasure.multiplier {mult} is outside "
                             f"[-{MAX_MULTIPLIER}, {MAX_MULTIPLIER}]"})
            if not math.isfinite(float(sv["value"]) * 10.0 ** mult):
                raise PropertyConstraintViolationError(details={
                    "cause": f"{where}.value {sv['value']!r} x 10^{mult} is not finite"})
