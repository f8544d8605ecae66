"""A station under the twin's CSMS charges nothing until the twin's first setpoint."""

import asyncio

from hil.base import BackgroundLoop, FaultLog, FaultPolicy
from hil.ocpp.bridge import OcppChargerBridge, start_csms
from hil.ocpp.station import StationEmulator
from tests.hil.ocpp.ocpp_testkit import small_scenario, until


def test_station_held_at_zero_until_the_first_setpoint():
    loop, faults = BackgroundLoop(), FaultLog()
    csms = start_csms(loop)
    scenario = small_scenario()
    sid = scenario.assets.resolved("ev_charger")[0].id or "ev_charger_00"
    bridge = OcppChargerBridge(sid, loop, faults, FaultPolicy(), csms, sid, 11.0,
                               hold_at_boot=True)
    bridge.start()

    async def run():
        emu = StationEmulator(scenario, sid, f"ws://127.0.0.1:{csms.port}",
                              meter_interval_s=0.1, dwell_s=3600.0)
        task = asyncio.create_task(emu.run())
        try:
            await until(lambda: emu.transaction_id is not None, 5, "a transaction")
            await until(lambda: emu.limit_kw == 0.0, 5, "the 0 kW TxDefaultProfile")
            e0 = emu.e_kwh  # what it drew in the moment between boot and the profile
            assert e0 < 11.0 * 0.5 / 3600  # under half a second at full power
            await asyncio.sleep(0.5)
            assert emu.p_kw == 0.0 and emu.e_kwh == e0  # held: no unmanaged charging
            bridge.request(7.0)  # the twin's first setpoint: a TxProfile overrides it
            await until(lambda: emu.limit_kw == 7.0 and emu.p_kw == 7.0, 5, "7 kW")
        finally:
            await emu.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        asyncio.run(asyncio.wait_for(run(), 15))
        assert "write_rejected" not in faults.kinds()
    finally:
        bridge.stop()
        loop.run(csms.stop(), 5)
        loop.stop()
