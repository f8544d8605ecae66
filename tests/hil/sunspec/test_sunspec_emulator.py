"""The SunSpec emulator over real Modbus TCP on loopback: chain, a standard client's raw
scan and curtailment write, scale factors, battery physics, Modbus exceptions."""

import asyncio

import numpy as np
import pytest
from pymodbus.client import AsyncModbusTcpClient

from hil.sunspec.client import SunSpecClient, SunSpecException
from hil.sunspec.emulator import SunSpecEmulator
from simulators.battery.model import BatteryFleet, BatteryParams
from twin.scenario.assets import params_from, resolve_assets

SCENARIO = "scenarios/martinique_baseline.yaml"


def run(coro, timeout_s=10.0):
    return asyncio.run(asyncio.wait_for(coro, timeout_s))


async def serving(scenario, asset_id, **kw):
    emulator = SunSpecEmulator(scenario, asset_id, **kw)
    return emulator, await emulator.start()


def test_emulator_chain_pv_and_battery(scenario):
    async def body():
        chains = {}
        for asset in ("pv_00", "battery_00"):
            emulator, port = await serving(scenario, asset)
            try:
                async with SunSpecClient("127.0.0.1", port, timeout_s=1.0) as client:
                    chains[asset] = await client.scan()
                    common = await client.read_model(1)
            finally:
                await emulator.stop()
            assert common["Mn"] == "Cariflex" and common["SN"] == asset
        return chains

    chains = run(body())
    assert list(chains["pv_00"]) == [1, 101, 120, 123, 701, 704]
    assert list(chains["battery_00"]) == [1, 103, 120, 124, 701, 704, 713, 802]
    assert chains["pv_00"][1] == (40002, 66)
    assert chains["pv_00"][101] == (40070, 50)
    # 40002 + (2+66) + (2+50) + (2+26) + (2+24) + (2+153) + (2+65) = 713 at 40398, L = 7
    assert chains["battery_00"][713] == (40398, 7)
    assert chains["battery_00"][802] == (40407, 62)


def test_emulator_raw_scan_and_wmaxlimpct_write_curtails_pv(scenario):
    """The way any SunSpec client walks: 'SunS' at 40000, then (ID, L) pairs."""

    async def body():
        emulator, port = await serving(scenario, "pv_00", tick_s=0.05)
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        try:
            assert await client.connect()
            head = await client.read_holding_registers(40000, count=2, device_id=1)
            assert bytes.fromhex("".join(f"{r:04x}" for r in head.registers)) == b"SunS"
            address, found = 40002, {}
            while True:
                mid, length = (await client.read_holding_registers(
                    address, count=2, device_id=1)).registers
                if mid == 0xFFFF:
                    break
                found[mid] = address
                address += 2 + length
            c123 = found[123]
            sf = (await client.read_holding_registers(c123 + 23, count=1,
                                                      device_id=1)).registers[0]
            sf = sf - 0x10000 if sf >= 0x8000 else sf
            p_before = emulator.p_kw
            r = await client.write_register(c123 + 5, round(30.0 / 10.0 ** sf), device_id=1)
            assert not r.isError()
            r = await client.write_register(c123 + 9, 1, device_id=1)  # WMaxLim_Ena
            assert not r.isError()
            await asyncio.sleep(0.2)
            w = (await client.read_holding_registers(found[101] + 14, count=2,
                                                     device_id=1)).registers
            return p_before, emulator.p_kw, emulator.p_avail_kw, w, sf
        finally:
            client.close()
            await emulator.stop()

    p_before, p_after, p_avail, (w_raw, w_sf), pct_sf = run(body())
    assert pct_sf == -2
    assert p_before == pytest.approx(p_avail) and p_avail < -1.5  # unlimited, producing
    assert p_after == pytest.approx(-0.30 * 4.6)  # 30 % of WRtg 4600 W
    w_sf = w_sf - 0x10000 if w_sf >= 0x8000 else w_sf
    assert w_raw * 10.0 ** w_sf == pytest.approx(1380.0)  # SunSpec W: injection positive


def test_emulator_scale_factors_battery_w(scenario):
    async def body():
        emulator, port = await serving(scenario, "battery_00", speed=60)
        try:
            async with SunSpecClient("127.0.0.1", port, timeout_s=1.0) as client:
                await client.scan()
                await client.write_points(704, {"WSetMod": 1, "WSet": 37000.0, "WSetEna": 1})
                await asyncio.sleep(0.3)
                start = client.models[701][0]
                raw_w, = await client.read_registers(start + 10, 1)  # 701 W
                raw_sf, = await client.read_registers(start + 116, 1)  # 701 W_SF
                m701 = await client.read_model(701)
                plate = await client.read_model(120)
        finally:
            await emulator.stop()
        return raw_w, raw_sf, m701, plate

    raw_w, raw_sf, m701, plate = run(body())
    assert raw_sf == 1  # 50 kW does not fit an int16 in W: 10 W resolution
    assert raw_w == 3700
    assert m701["W"] == 37000.0
    assert plate["WRtg"] == 50000.0 and plate["MaxChaRte"] == 50000.0


def test_emulator_battery_soc_matches_battery_fleet(scenario):
    """Charge at 20 kW for ~1.2 wall s at 3600x (~1.2 h). Reference: a BatteryFleet stepped
    idle until the setpoint took effect, then at 20 kW, evaluated at the scenario times
    just before and just after the Modbus read; the register holds a tick in between.
    Tolerance: 0.01 % (the SoC_SF = -2 resolution) plus the self-discharge ordering
    difference of one step vs many (0.1 %/day over ~1 h: < 1e-4 %)."""
    spec = next(a.spec for a in resolve_assets(scenario)["battery"] if a.id == "battery_00")

    async def body():
        emulator, port = await serving(scenario, "battery_00", speed=3600, tick_s=0.05)
        try:
            async with SunSpecClient("127.0.0.1", port, timeout_s=1.0) as client:
                await client.scan()
                await client.write_points(704, {"WSetMod": 1, "WSet": -20000.0, "WSetEna": 1})
                await asyncio.sleep(1.2)
                t_before = emulator.t_s
                soc = (await client.read_model(802))["SoC"]
                t_after = emulator.t_s
                return soc, t_before, t_after, emulator.setpoint_t_s, emulator.p_set_kw
        finally:
            await emulator.stop()

    soc, t_before, t_after, t_set, p_set = run(body())
    assert p_set == 20.0

    def reference(t_s):
        fleet = BatteryFleet([params_from(BatteryParams, spec)], dt_s=60)
        if t_set > 0:
            fleet.step([0.0], t_set)
        fleet.step([20.0], t_s - t_set)
        return float(fleet.soc_percent[0])

    lo, hi = reference(t_before - 0.05 * 3600), reference(t_after)
    assert lo - 0.011 <= soc <= hi + 0.011
    assert soc > 60.0  # 50 % + ~20 kWh * 0.95 of 100 kWh


def test_emulator_rejects_read_only_and_out_of_range_writes(scenario):
    async def body():
        emulator, port = await serving(scenario, "pv_00")
        codes = {}
        try:
            async with SunSpecClient("127.0.0.1", port, timeout_s=1.0) as client:
                await client.scan()
                start = client.models[701][0]
                for name, coro in {
                    "read-only 701 W": client.write_registers(start + 10, [100]),
                    "SunS marker": client.write_registers(40000, [0]),
                    "WMaxLimPct 150 %": client.write_points(123, {"WMaxLimPct": 150.0}),
                    "WMaxLim_Ena 2": client.write_points(123, {"WMaxLim_Ena": 2}),
                    "704 WSet above WRtg": client.write_points(704, {"WSet": 5000.0}),
                }.items():
                    with pytest.raises(SunSpecException) as exc:
                        await coro
                    codes[name] = exc.value.code
                m123 = await client.read_model(123)
        finally:
            await emulator.stop()
        return codes, m123, emulator.p_limit_kw

    codes, m123, limit = run(body())
    assert codes == {"read-only 701 W": 2, "SunS marker": 2, "WMaxLimPct 150 %": 3,
                     "WMaxLim_Ena 2": 3, "704 WSet above WRtg": 3}
    assert m123["WMaxLimPct"] == 100.0 and m123["WMaxLim_Ena"] == 0  # nothing changed
    assert np.isinf(limit)


def test_emulator_unknown_or_wrong_kind_asset_names_allowed_ids(scenario):
    with pytest.raises(ValueError, match=r"'pv_99' is not in the scenario.*pv_00, .*battery_09"):
        SunSpecEmulator(scenario, "pv_99")
    with pytest.raises(ValueError, match=r"'ev_charger_00' is a ev_charger, not a pv or battery"):
        SunSpecEmulator(scenario, "ev_charger_00")
    with pytest.raises(ValueError, match=r"speed=0: must be > 0"):
        SunSpecEmulator(scenario, "pv_00", speed=0)
