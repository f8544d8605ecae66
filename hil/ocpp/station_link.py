"""The station end of an OCPP 2.0.1 link: answers the CSMS's calls for a
:class:`hil.ocpp.station.StationEmulator` (which holds the state and the physics).

Sign convention: positive = consumption / charging / import.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ocpp.charge_point import snake_to_camel_case
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result

from hil.ocpp.rpc import RpcMixin

if TYPE_CHECKING:
    from hil.ocpp.station import StationEmulator

EVSE, CONNECTOR = 1, 1
MAX_COMPOSITE_S = 31 * 86_400  # longest GetCompositeSchedule answered [s]


class StationChargePoint(RpcMixin, ChargePoint):
    """The station end of the link: answers the CSMS's calls for the emulator."""

    def __init__(self, station_id: str, connection: Any, emulator: StationEmulator,
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
