"""Station emulator against the CSMS over real websockets on 127.0.0.1: a whole
session under the standalone policy, and every frame checked against the official
OCPP 2.0.1 JSON schemas."""

from __future__ import annotations

import asyncio
import time

import pytest
from ocpp.v201 import call

from hil.ocpp.csms import Csms
from hil.ocpp.profiles import tx_profile
from hil.ocpp.station import StationEmulator
from tests.hil.ocpp.ocpp_testkit import (
    Recorder,
    small_scenario,
    standalone_csms,
    until,
    validate_frames,
)

SID = "ev_charger_00"
E_REQUEST_KWH = 40.0 * (80 - 50) / 100 / 0.95  # 12.63 kWh from the grid to 80 %


def test_session_under_standalone_policy():
    async def scenario_run():
        scenario = small_scenario()
        lines: list[str] = []
        async with standalone_csms(scenario, out=lines.append) as (csms, port):
            await session(csms, port, scenario)
        events = [line.split()[2] for line in lines[1:]]
        for event in ("connected", "booted", "authorized", "tx_started", "needs", "profile",
                      "tx_updated", "tx_ended"):
            assert event in events, f"no {event} line in {lines}"

    async def session(csms, port, scenario):
        emu = StationEmulator(scenario, SID, f"ws://127.0.0.1:{port}/ocpp", speed=1.0,
                              meter_interval_s=0.2, dwell_s=4 * 3600.0)
        assert emu.url == f"ws://127.0.0.1:{port}/ocpp/{SID}"
        t0 = time.time()
        runner = asyncio.create_task(emu.run())
        try:
            await until(lambda: SID in csms.stations and csms.stations[SID].booted, 3, "boot")
            st = csms.stations[SID]
            await until(lambda: st.transactions, 3, "TransactionEvent Started")
            assert st.transactions == {1: emu.transaction_id}
            assert st.id_token == "twin-ev"
            # NotifyEVChargingNeeds reached the CSMS state
            await until(lambda: st.ev_e_request_kwh == st.ev_e_request_kwh, 3, "needs")
            assert st.ev_e_request_kwh == pytest.approx(E_REQUEST_KWH, abs=0.002)
            assert st.ev_departure_unix_s == pytest.approx(t0 + 4 * 3600, abs=3)
            assert st.ev_p_max_kw == pytest.approx(32 * 230 * 3 / 1000)  # 32 A, 3 phases
            # the policy sends a TxProfile within a few seconds: energy / time left
            await until(lambda: st.last_profile is not None, 3, "TxProfile from the policy")
            want_kw = E_REQUEST_KWH / 4.0
            assert st.limit_kw == pytest.approx(want_kw, abs=0.06)
            assert st.last_profile["transactionId"] == emu.transaction_id
            assert st.last_profile["chargingProfilePurpose"] == "TxProfile"
            # the station follows it, and its meter values update the CSMS state
            await until(lambda: emu.limit_kw is not None, 2, "profile in force")
            assert emu.p_kw == pytest.approx(st.limit_kw)
            await until(lambda: st.p_kw == pytest.approx(emu.p_kw, abs=0.001)
                        and st.e_kwh > 0, 2, "meter values at the CSMS")
            assert st.soc_percent == pytest.approx(emu.soc_percent, abs=0.06)
            sched = await asyncio.wait_for(csms.composite_schedule(SID, 600), 3)
            assert sched["status"] == "Accepted"
            assert sched["periods"] == [(0, pytest.approx(st.limit_kw, abs=1e-3))]
            # the CSMS can override the policy; the station follows
            assert await asyncio.wait_for(csms.set_power_limit(SID, 7.5), 3) == "Accepted"
            assert emu.p_kw == pytest.approx(7.5)
            assert await asyncio.wait_for(csms.request_stop(SID), 3) == "Accepted"
            await until(lambda: not st.transactions and emu.transaction_id is None, 3,
                        "TransactionEvent Ended")
            assert emu.p_kw == 0.0 and st.p_kw == 0.0
        finally:
            await emu.stop()
            await runner

    asyncio.run(asyncio.wait_for(scenario_run(), 20))


class RecordingEmulator(StationEmulator):
    """Records every frame of the station's websocket, both directions."""

    log: list[tuple[str, str]]

    async def serve_link(self, ws):
        return await super().serve_link(Recorder(ws, self.log))


def test_every_frame_valid_against_official_schemas():
    async def scenario_run():
        scenario = small_scenario()
        csms = Csms(heartbeat_interval_s=1)
        port = await csms.start()
        emu = RecordingEmulator(scenario, SID, f"ws://127.0.0.1:{port}", meter_interval_s=0.2,
                                dwell_s=3600.0)
        emu.log = []
        runner = asyncio.create_task(emu.run())
        try:
            st = await _wait_station(csms)
            await until(lambda: st.ev_e_request_kwh == st.ev_e_request_kwh, 3, "needs")
            assert await csms.set_power_limit(SID, 4.2, duration_s=900) == "Accepted"
            assert emu.limit_kw == pytest.approx(4.2)
            sched = await csms.composite_schedule(SID, 1800)
            # 4.2 kW for the profile's 900 s, then the charger's own 11 kW
            assert [p for p, _ in sched["periods"]] == [0, pytest.approx(900, abs=1)]
            assert [lim for _, lim in sched["periods"]] == [pytest.approx(4.2), 11.0]
            # a profile for another transaction breaks K01.FR.33: Rejected over the wire
            bad = tx_profile("not-this-one", 1000.0, 7, now_unix_s=time.time())
            resp = await csms.call_station(SID, call.SetChargingProfile(evse_id=1,
                                                                 charging_profile=bad))
            assert (resp.status, resp.status_info["reason_code"]) == ("Rejected", "TxNotFound")
            assert await csms.clear_profile(SID) == "Accepted"
            assert emu.limit_kw is None and emu.p_kw == pytest.approx(11.0)
            assert await csms.request_stop(SID) == "Accepted"
            await until(lambda: not st.transactions, 3, "Ended")
            assert await csms.request_start(SID, "remote-token") == "Accepted"
            await until(lambda: st.transactions, 3, "remote start")
            assert st.id_token == "remote-token"
            await until(lambda: any('"Heartbeat"' in f for _, f in emu.log), 3, "a heartbeat")
            await asyncio.sleep(0.3)  # let the last answers land in the log
        finally:
            await emu.stop()
            await runner
            await csms.stop()
        seen = validate_frames(emu.log)
        requests = {(d, a) for d, kind, a in seen if kind == "Request"}
        responses = {(d, a) for d, kind, a in seen if kind == "Response"}
        from_station = {"BootNotification", "StatusNotification", "Authorize", "Heartbeat",
                        "TransactionEvent", "NotifyEVChargingNeeds"}
        from_csms = {"SetChargingProfile", "GetCompositeSchedule", "ClearChargingProfile",
                     "RequestStopTransaction", "RequestStartTransaction"}
        assert {("out", a) for a in from_station} <= requests
        assert {("in", a) for a in from_station} <= responses
        assert {("in", a) for a in from_csms} <= requests
        assert {("out", a) for a in from_csms} <= responses
        assert len(seen) >= 30

    asyncio.run(asyncio.wait_for(scenario_run(), 20))


async def _wait_station(csms: Csms):
    await until(lambda: SID in csms.stations and csms.stations[SID].transactions, 3,
                "a transaction")
    return csms.stations[SID]


def test_standalone_policy_shares_site_capacity():
    async def scenario_run():
        scenario = small_scenario(trafo_sn_kva=12.0)  # two 11 kW chargers on 12 kW
        async with standalone_csms(scenario) as (_, port):
            await sharing(scenario, port)

    async def sharing(scenario, port):
        emus = [StationEmulator(scenario, sid, f"ws://127.0.0.1:{port}", meter_interval_s=0.2,
                                dwell_s=600.0) for sid in ("ev_charger_00", "ev_charger_01")]
        runners = [asyncio.create_task(e.run()) for e in emus]
        try:
            # each wants 12.6 kWh in 10 min, clamped to 11 kW; the site has 12 kW
            await until(lambda: all(e.limit_kw is not None for e in emus)
                        and sum(e.limit_kw for e in emus) <= 12.0 + 1e-6, 5, "shared limits")
            assert [e.limit_kw for e in emus] == [pytest.approx(6.0), pytest.approx(6.0)]
            assert [e.p_kw for e in emus] == [pytest.approx(6.0), pytest.approx(6.0)]
        finally:
            for e in emus:
                await e.stop()
            await asyncio.gather(*runners)

    asyncio.run(asyncio.wait_for(scenario_run(), 15))
