"""The station end of an OCPP 2.0.1 link: answers the CSMS's calls for a station
(:class:`hil.ocpp.station.StationEmulator`, which holds the state and the physics, seen
here only through :class:`StationHandlers`), and the station's URL on its CSMS.

Sign convention: positive = consumption / charging / import.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Protocol

from ocpp.charge_point import snake_to_camel_case
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result

from hil.ocpp.rpc import RpcMixin

EVSE, CONNECTOR = 1, 1
MAX_COMPOSITE_S = 31 * 86_400  # longest GetCompositeSchedule answered [s]


class StationHandlers(Protocol):
    """What the link asks of the station for the CSMS's calls."""

    def install_profile(self, evse_id: int, profile: dict) -> str | None:
        """Install a charging profile (camelCase); None, or why it is rejected."""

    def clear_profiles(self, profile_id: int | None, criteria: dict) -> int:
        """Remove the profiles matching the id, else the criteria; how many went."""

    def composite(self, duration_s: int, evse_id: int, unit: str) -> dict:
        """The composite schedule of ``evse_id`` for ``duration_s`` [s] in ``unit``."""

    def remote_start(self, token: str, remote_start_id: int, evse_id: int) -> bool:
        """Accept (True) or reject a RequestStartTransaction."""

    def remote_stop(self, transaction_id: str) -> bool:
        """Accept (True) or reject a RequestStopTransaction."""


def station_url(url: str, station_id: str) -> str:
    """``url`` when its last path segment is ``station_id``, else ``url`` with the
    (URL-quoted) id appended (``ws://host:port/ocpp`` -> ``ws://host:port/ocpp/ID``)."""
    parts = urllib.parse.urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if segments and urllib.parse.unquote(segments[-1]) == station_id:
        return url
    path = "/".join([*segments, urllib.parse.quote(station_id, safe="")])
    return urllib.parse.urlunsplit(parts._replace(path="/" + path))


class StationChargePoint(RpcMixin, ChargePoint):
    """The station end of the link: answers the CSMS's calls for the emulator."""

    def __init__(self, station_id: str, connection: Any, emulator: StationHandlers,
                 response_timeout: float):
        super().__init__(station_id, connection, response_timeout=response_timeout)
        self.emu = emulator

    @on("SetChargingProfile")
    def on_set_profile(self, evse_id: int, charging_profile: dict, **_: Any):
        reason = self.emu.install_profile(evse_id, snake_to_camel_case(charging_profile))
        if reason is None:
            return call_result.SetChargingProfile(status="Accepted")
        return call_result.SetChargingProfile(status="Rejected",
                                              status_info={"reason_code": reason})

    @on("ClearChargingProfile")
    def on_clear_profile(self, charging_profile_id: int | None = None,
                         charging_profile_criteria: dict | None = None, **_: Any):
        n = self.emu.clear_profiles(charging_profile_id, charging_profile_criteria or {})
        return call_result.ClearChargingProfile(status="Accepted" if n else "Unknown")

    @on("GetCompositeSchedule")
    def on_composite(self, duration: int, evse_id: int, charging_rate_unit: str = "W", **_: Any):
        if evse_id not in (0, EVSE):
            return call_result.GetCompositeSchedule(status="Rejected",
                                                    status_info={"reason_code": "UnknownEvse"})
        if not 0 < duration <= MAX_COMPOSITE_S:  # 10**18 s kept the station busy for ever
            return call_result.GetCompositeSchedule(
                status="Rejected", status_info={"reason_code": "DurationOutOfRange"})
        return call_result.GetCompositeSchedule(
            status="Accepted", schedule=self.emu.composite(duration, evse_id, charging_rate_unit))

    @on("RequestStartTransaction")
    def on_request_start(self, id_token: dict, remote_start_id: int, evse_id: int | None = None,
                         **_: Any):
        ok = self.emu.remote_start(id_token["id_token"], remote_start_id, evse_id or EVSE)
        return call_result.RequestStartTransaction(status="Accepted" if ok else "Rejected")

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str, **_: Any):
        ok = self.emu.remote_stop(transaction_id)
        return call_result.RequestStopTransaction(status="Accepted" if ok else "Rejected")
