"""The CSMS end of one OCPP 2.0.1 station connection: the handlers of the station's
calls, which keep the station's :class:`hil.ocpp.csms_state.StationState` in the twin's
attributes and report every change to the CSMS (:class:`hil.ocpp.csms.Csms`, seen here
only through :class:`CsmsHooks`).

Sign convention: positive = consumption / charging / import (``p_kw`` is the
station's ``Power.Active.Import``).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Protocol

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result

from hil.ocpp.csms_state import NAN, StationState, check_meter
from hil.ocpp.meter import read_meter
from hil.ocpp.rpc import PHASES, RpcMixin, amps_to_kw, parse_unix_s


class CsmsHooks(Protocol):
    """What a station connection needs of its CSMS (:class:`hil.ocpp.csms.Csms`)."""

    stations: dict[str, StationState]
    heartbeat_interval_s: int

    def token_status(self, token: str) -> str:
        """``Accepted`` or ``Invalid`` for an idToken."""

    def emit(self, station_id: str, event: str, **detail: Any) -> None:
        """Report ``event`` of ``station_id`` to the CSMS's listeners."""

    def transaction_started(self, station_id: str, evse_id: int, tx_id: str) -> None:
        """Run the CSMS's hook for a new transaction."""


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CsmsChargePoint(RpcMixin, ChargePoint):
    """The CSMS end of one station connection."""

    def __init__(self, station_id: str, connection: Any, csms: CsmsHooks,
                 response_timeout: float):
        super().__init__(station_id, connection, response_timeout=response_timeout)
        self.csms = csms
        self.state = csms.stations[station_id]

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close this connection's websocket (a newer connection of the station replaces
        it)."""
        await self._connection.close(code, reason)

    def on_malformed(self, detail: str) -> None:
        self.csms.emit(self.id, "malformed", detail=detail)

    async def route_message(self, raw_msg):
        self.state.last_seen_mono = time.monotonic()
        await super().route_message(raw_msg)

    def check_call(self, msg) -> None:  # meter values that do not overflow
        if msg.action in ("MeterValues", "TransactionEvent"):
            check_meter(msg.payload.get("meterValue"))

    @on("BootNotification")
    def on_boot(self, charging_station: dict, reason: str, **_: Any):
        self.state.booted = True
        self.csms.emit(self.id, "booted", reason=reason, model=charging_station.get("model"),
                        vendor=charging_station.get("vendor_name"))
        return call_result.BootNotification(current_time=now_iso(), status="Accepted",
                                            interval=self.csms.heartbeat_interval_s)

    @on("Heartbeat")
    def on_heartbeat(self, **_: Any):
        return call_result.Heartbeat(current_time=now_iso())

    @on("StatusNotification")
    def on_status(self, timestamp: str, connector_status: str, evse_id: int,
                  connector_id: int, **_: Any):
        self.state.connector_status[evse_id] = connector_status
        self.state.plugged = "Occupied" in self.state.connector_status.values()
        self.csms.emit(self.id, "status", evse_id=evse_id, status=connector_status)
        return call_result.StatusNotification()

    @on("Authorize")
    def on_authorize(self, id_token: dict, **_: Any):
        status = self.csms.token_status(id_token["id_token"])
        self.csms.emit(self.id, "authorized", id_token=id_token["id_token"], status=status)
        return call_result.Authorize(id_token_info={"status": status})

    @on("TransactionEvent")
    def on_transaction_event(self, event_type: str, timestamp: str, trigger_reason: str,
                             seq_no: int, transaction_info: dict, meter_value=None,
                             evse: dict | None = None, id_token: dict | None = None,
                             offline: bool = False, **_: Any):
        st, tx_id = self.state, transaction_info["transaction_id"]
        evse_id = (evse or {}).get("id") or next(
            (e for e, t in st.transactions.items() if t == tx_id), 1)
        if event_type == "Started" or tx_id not in st.transactions.values():
            new = tx_id not in st.transactions.values()
            st.transactions[evse_id] = tx_id
            if new:
                st.e_kwh, st.meter_start_kwh, st.p_kw = 0.0, None, NAN
                st.ev_departure_unix_s = st.ev_e_request_kwh = st.ev_p_max_kw = NAN
                st.e_at_needs_kwh, st.last_profile, st.limit_kw = 0.0, None, NAN
                st.plugged, st.last_seq_no = True, None
        # a repeat (sent again after a lost answer) is older than what the CSMS has
        last = st.last_seq_no
        if last is None or seq_no > last:
            if last is not None:
                st.n_seq_gaps += seq_no - last - 1
            st.last_seq_no = seq_no
            self._apply_meter(meter_value)
        st.n_offline_events += bool(offline)
        if id_token is not None:
            st.id_token = id_token["id_token"]
        detail = dict(transaction_id=tx_id, evse_id=evse_id, trigger=trigger_reason,
                      seq_no=seq_no, p_kw=st.p_kw, e_kwh=st.e_kwh, offline=bool(offline))
        if event_type == "Started":
            self.csms.emit(self.id, "tx_started", **detail)
            self.csms.transaction_started(self.id, evse_id, tx_id)
        elif event_type == "Ended":
            st.transactions = {e: t for e, t in st.transactions.items() if t != tx_id}
            st.p_kw = 0.0
            self.csms.emit(self.id, "tx_ended", **detail)
        else:
            self.csms.emit(self.id, "tx_updated", **detail)
        token_info = None
        if id_token is not None:
            token_info = {"status": self.csms.token_status(id_token["id_token"])}
        return call_result.TransactionEvent(id_token_info=token_info)

    @on("MeterValues")
    def on_meter_values(self, evse_id: int, meter_value: list, **_: Any):
        self._apply_meter(meter_value)
        self.csms.emit(self.id, "meter", evse_id=evse_id, p_kw=self.state.p_kw)
        return call_result.MeterValues()

    @on("NotifyEVChargingNeeds")
    def on_needs(self, charging_needs: dict, evse_id: int, **_: Any):
        st = self.state
        if "departure_time" in charging_needs:
            st.ev_departure_unix_s = parse_unix_s(charging_needs["departure_time"])
        ac = charging_needs.get("ac_charging_parameters")
        dc = charging_needs.get("dc_charging_parameters")
        if ac is not None:
            phases = PHASES.get(charging_needs["requested_energy_transfer"], 3)
            st.ev_e_request_kwh = ac["energy_amount"] / 1000.0
            st.ev_p_max_kw = amps_to_kw(ac["ev_max_current"], phases)
        elif dc is not None:
            if "energy_amount" in dc:
                st.ev_e_request_kwh = dc["energy_amount"] / 1000.0
            if "ev_max_power" in dc:
                st.ev_p_max_kw = dc["ev_max_power"] / 1000.0
            if "state_of_charge" in dc:
                st.soc_percent = float(dc["state_of_charge"])
        st.e_at_needs_kwh = st.e_kwh
        self.csms.emit(self.id, "needs", evse_id=evse_id, e_request_kwh=st.ev_e_request_kwh,
                        departure_unix_s=st.ev_departure_unix_s, p_max_kw=st.ev_p_max_kw)
        return call_result.NotifyEVChargingNeeds(status="Accepted")

    def _apply_meter(self, meter_value: list | None) -> None:
        values = read_meter(meter_value)
        st = self.state
        if "p_kw" in values:
            st.p_kw = values["p_kw"]
        if "soc_percent" in values:
            st.soc_percent = values["soc_percent"]
        if "register_kwh" in values:
            if st.meter_start_kwh is None:
                st.meter_start_kwh = values["register_kwh"]
            st.e_kwh = values["register_kwh"] - st.meter_start_kwh
