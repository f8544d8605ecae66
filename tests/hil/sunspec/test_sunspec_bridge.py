"""SunSpec bridges against the emulator over loopback Modbus TCP: attributes, clamped and
read-back writes, and the faults (refused, disconnected, watchdog, reconnected, garbage)."""

import asyncio
import math
import socket
import time

import pytest

from hil.base import BackgroundLoop, FaultLog, FaultPolicy, Watchdog
from hil.sunspec.bridge import SunSpecBatteryBridge, SunSpecPvBridge
from hil.sunspec.emulator import SunSpecEmulator

POLICY = FaultPolicy(timeout_s=0.3, stale_after_s=0.4, hold_s=0.3, backoff_initial_s=0.05,
                     backoff_max_s=0.2)


@pytest.fixture
def loops():
    bridge_loop, device_loop = BackgroundLoop(), BackgroundLoop()
    yield bridge_loop, device_loop
    bridge_loop.stop()
    device_loop.stop()


def wait_until(cond, timeout_s=5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_emulator(device_loop, scenario, asset_id, port=0, **kw):
    emulator = SunSpecEmulator(scenario, asset_id, port=port, tick_s=0.05, **kw)
    return emulator, device_loop.run(emulator.start(), 5)


def test_bridge_pv_publishes_and_curtails(scenario, loops):
    bridge_loop, device_loop = loops
    emulator, port = start_emulator(device_loop, scenario, "pv_00")
    faults = FaultLog()
    bridge = SunSpecPvBridge("pv_00", bridge_loop, faults, POLICY, port=port, poll_s=0.05)
    bridge.start()
    try:
        assert wait_until(lambda: bridge.latest() is not None)
        first = bridge.latest().values
        assert first["p_kw"] == pytest.approx(emulator.p_kw, abs=1e-3) and first["p_kw"] < -1
        assert math.isinf(first["p_limit_kw"])
        bridge.request(2.0)
        assert wait_until(lambda: bridge.latest().values["p_limit_kw"] < 3)
        assert emulator.p_limit_kw == pytest.approx(2.0, abs=0.0005)  # 0.01 % of 4.6 kW
        assert wait_until(lambda: abs(bridge.latest().values["p_kw"] + 2.0) < 1e-3)
        bridge.request(math.inf)
        assert wait_until(lambda: math.isinf(emulator.p_limit_kw))
        with pytest.raises(ValueError, match=r"p_limit_kw=-1.0: must be >= 0"):
            bridge.request(-1.0)
    finally:
        bridge.stop()
        device_loop.run(emulator.stop(), 5)
    assert "write_rejected" not in faults.kinds()


def test_bridge_battery_clamps_to_nameplate_and_publishes(scenario, loops):
    bridge_loop, device_loop = loops
    emulator, port = start_emulator(device_loop, scenario, "battery_00", speed=60)
    faults = FaultLog()
    bridge = SunSpecBatteryBridge("battery_00", bridge_loop, faults, POLICY, port=port,
                                  poll_s=0.05)
    bridge.start()
    try:
        assert wait_until(lambda: bridge.latest() is not None)
        bridge.request(1000.0)
        assert wait_until(lambda: emulator.p_set_kw == 50.0)
        assert wait_until(lambda: bridge.latest().values["p_kw"] == pytest.approx(50.0))
        values = bridge.latest().values
        bridge.request(-1000.0)
        assert wait_until(lambda: emulator.p_set_kw == -50.0)
    finally:
        bridge.stop()
        device_loop.run(emulator.stop(), 5)
    assert values["capacity_kwh"] == 100.0
    assert 50.0 <= values["soc_percent"] < 60.0
    assert values["e_kwh"] == pytest.approx(values["soc_percent"], abs=0.02)  # 100 kWh
    assert values["p_charge_avail_kw"] == 50.0 and values["p_discharge_avail_kw"] == 50.0
    assert "write_rejected" not in faults.kinds()


def test_bridge_write_rejected_by_device(scenario, loops):
    bridge_loop, device_loop = loops
    emulator, port = start_emulator(device_loop, scenario, "battery_00")
    emulator.write_ranges[(704, "WSet")] = (0.0, 0.0)  # this device refuses any non-zero WSet
    faults = FaultLog()
    bridge = SunSpecBatteryBridge("battery_00", bridge_loop, faults, POLICY, port=port,
                                  poll_s=0.05)
    bridge.start()
    try:
        assert wait_until(lambda: bridge.latest() is not None)
        bridge.request(10.0)
        assert wait_until(lambda: "write_rejected" in faults.kinds())
    finally:
        bridge.stop()
        device_loop.run(emulator.stop(), 5)
    assert emulator.p_set_kw == 0.0
    assert "exception 3" in next(f.detail for f in faults.all() if f.kind == "write_rejected")


def test_bridge_refused_at_start_then_connects(scenario, loops):
    bridge_loop, device_loop = loops
    port, faults = free_port(), FaultLog()
    bridge = SunSpecPvBridge("pv_00", bridge_loop, faults, POLICY, port=port, poll_s=0.05)
    bridge.start()
    try:
        assert wait_until(lambda: "connection_refused" in faults.kinds())
        assert bridge.latest() is None
        emulator, _ = start_emulator(device_loop, scenario, "pv_00", port=port)
        assert wait_until(lambda: bridge.latest() is not None)
        assert wait_until(lambda: "reconnected" in faults.kinds())
        device_loop.run(emulator.stop(), 5)
    finally:
        bridge.stop()
    assert faults.kinds().count("connection_refused") == 1  # once per outage


def test_bridge_disconnect_watchdog_hold_fallback_then_reconnect(scenario, loops):
    bridge_loop, device_loop = loops
    emulator, port = start_emulator(device_loop, scenario, "pv_00")
    faults = FaultLog()
    bridge = SunSpecPvBridge("pv_00", bridge_loop, faults, POLICY, port=port, poll_s=0.05)
    watchdog = Watchdog("pv_00", POLICY, faults)

    def state():
        latest = bridge.latest()
        return watchdog.update(None if latest is None else latest.age_s())

    bridge.start()
    try:
        assert wait_until(lambda: bridge.latest() is not None)
        assert state() == "fresh"
        device_loop.run(emulator.stop(), 5)  # the device dies mid-run
        assert wait_until(lambda: "disconnected" in faults.kinds())
        assert wait_until(lambda: state() == "hold")
        assert wait_until(lambda: state() == "fallback")
        t_dead = bridge.latest().t_mono
        emulator, _ = start_emulator(device_loop, scenario, "pv_00", port=port)
        assert wait_until(lambda: bridge.latest().t_mono > t_dead)
        assert wait_until(lambda: state() == "fresh")
    finally:
        bridge.stop()
        device_loop.run(emulator.stop(), 5)
    kinds = faults.kinds()
    assert kinds.index("disconnected") < kinds.index("hold") < kinds.index("fallback")
    assert kinds.count("reconnected") == 2  # the bridge's link, and the watchdog's data


def test_bridge_garbage_answers_malformed_no_crash(loops):
    bridge_loop, device_loop = loops

    async def garbage(reader, writer):
        while await reader.read(256):
            writer.write(b"\x00\x01garbage, not Modbus\xff\xfe")
            await writer.drain()
        writer.close()

    async def start():
        return await asyncio.start_server(garbage, "127.0.0.1", 0)

    server = device_loop.run(start(), 5)
    port = server.sockets[0].getsockname()[1]
    faults = FaultLog()
    bridge = SunSpecPvBridge("pv_x", bridge_loop, faults, POLICY, port=port, poll_s=0.05)
    bridge.start()
    try:
        assert wait_until(lambda: len(faults) >= 2)
        assert bridge.polling  # still retrying
    finally:
        bridge.stop()
        device_loop.run(asyncio.sleep(0), 5)
        device_loop.loop.call_soon_threadsafe(server.close)
    assert set(faults.kinds()) <= {"malformed", "timeout", "disconnected"}
    assert "malformed" in faults.kinds()
    assert bridge.latest() is None
