"""Seeded mutation campaign on Modbus writes to the SunSpec emulator over real Modbus TCP
on 127.0.0.1 (pymodbus client and server), judged by an oracle built from pySunSpec2's
model JSON, not from hil.sunspec.models: a write touching a register that is not part
of a read-write point answers ILLEGAL_DATA_ADDRESS (2); a value outside the official
enumeration or a not-implemented value answers ILLEGAL_DATA_VALUE (3); a refused write
changes nothing and an accepted one reads back as written. Then raw mutated Modbus TCP
frames; the emulator keeps serving, every answer comes in bounded time."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest
import sunspec2
from pymodbus.client import AsyncModbusTcpClient

from hil.sunspec.emulator import SunSpecEmulator
from tests.hil.ocpp.test_ocpp_mutations import tracebacks

JSON_DIR = Path(sunspec2.__file__).parent / "models" / "json"
SENTINEL = {"int16": 0x8000, "uint16": 0xFFFF, "enum16": 0xFFFF, "bitfield16": 0xFFFF,
            "int32": 0x80000000, "uint32": 0xFFFFFFFF, "enum32": 0xFFFFFFFF,
            "bitfield32": 0xFFFFFFFF, "sunssf": 0x8000}
N_WRITES = 300


def _points(group, prefix=""):
    for p in group["points"]:
        yield prefix + p["name"], p
    for sub in group.get("groups", []):
        yield from _points(sub, f"{prefix}{sub['name']}.")


def official_map(starts: dict[int, int]) -> dict[int, tuple]:
    """PDU address -> (model id, point name, official point, its first address)."""
    owner = {}
    for model_id, start in starts.items():
        group = json.loads((JSON_DIR / f"model_{model_id}.json").read_text())["group"]
        addr = start
        for name, p in _points(group):
            for k in range(p["size"]):
                owner[addr + k] = (model_id, name, p, addr)
            addr += p["size"]
    return owner


def expected_code(owner, regs_after, address, count) -> int | None:
    """2, 3, or None (accepted, or 3 where the emulator range-checks: both allowed)."""
    covered = [owner.get(a) for a in range(address, address + count)]
    if any(c is None or c[2].get("access", "R") != "RW" or c[1] in ("ID", "L")
           for c in covered):
        return 2
    for _, _, p, first in {(c[0], c[1], id(c[2]), c[3]): c for c in covered}.values():
        raw = 0
        for k in range(p["size"]):
            raw = (raw << 16) | regs_after[first + k]
        symbols = {s["value"] for s in p.get("symbols", [])}
        if raw == SENTINEL.get(p["type"]):
            return 3
        if p["type"].startswith("enum") and symbols and raw not in symbols:
            return 3
        if p["type"].startswith("bitfield") and symbols and raw & ~sum(1 << b for b in symbols):
            return 3
    return None


def _values(rng, owner, address, count, regs):
    out = []
    for a in range(address, address + count):
        c = owner.get(a)
        symbols = [s["value"] for s in c[2].get("symbols", [])] if c else []
        out.append(rng.choice([rng.randrange(0x10000), 0, 1, 0xFFFF, 0x8000, 0x7FFF,
                               regs.get(a, 0), (regs.get(a, 0) + 1) & 0xFFFF,
                               *(symbols[:3] if c and c[2]["size"] == 1 else [])]))
    return out


@pytest.mark.parametrize(("asset", "seed"), [("battery_00", 502), ("pv_00", 1502)])
def test_mutated_writes_get_the_right_exception(scenario, asset, seed, tmp_path):
    emulator = SunSpecEmulator(scenario, asset, origin_file=tmp_path / "never")
    owner = official_map(emulator.image.starts)
    lo, hi = 40000, 40000 + len(emulator.image.regs)
    rw = [a for a, c in owner.items() if c[2].get("access") == "RW"]
    rng, codes = random.Random(seed), {}

    async def run():
        port = await emulator.start()
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        await client.connect()
        try:
            for i in range(N_WRITES):
                regs = dict(zip(range(lo, hi), emulator.image.regs, strict=True))
                address = rng.choice(rw) if rng.random() < 0.7 else rng.randrange(lo - 2, hi + 2)
                count = rng.choice((1, 1, 1, 2, 2, 3, 4, 8))
                values = _values(rng, owner, address, count, regs)
                after = dict(regs) | dict(zip(range(address, address + count), values,
                                              strict=True))
                expected = expected_code(owner, after, address, count)
                if count == 1:
                    r = await client.write_register(address, values[0], device_id=1)
                else:
                    r = await client.write_registers(address, values, device_id=1)
                got = r.exception_code if r.isError() else None
                what = f"write {i}: {count} at {address} = {values}"
                codes[got] = codes.get(got, 0) + 1
                if expected == 2 or (expected == 3 and got != 2):
                    assert got == expected, f"{what}: answer {got}, expected {expected}"
                else:
                    assert got in (None, 3), f"{what}: answer {got}"
                now = dict(zip(range(lo, hi), emulator.image.regs, strict=True))
                if got is None:
                    back = await client.read_holding_registers(address, count=count,
                                                               device_id=1)
                    assert back.registers == values, what
                else:  # measurements follow the controls at the next tick: compare controls
                    assert [now[a] for a in rw] == [regs[a] for a in rw], \
                        f"{what}: a refused write changed registers"
            head = await client.read_holding_registers(40000, count=2, device_id=1)
            assert head.registers == [0x5375, 0x6E53]
        finally:
            client.close()
            await emulator.stop()

    with tracebacks() as tbs:
        asyncio.run(asyncio.wait_for(run(), 60))
    assert not tbs, [r.getMessage() for r in tbs][:3]
    assert codes.get(2) and codes.get(3) and codes.get(None), codes


def _mbap(tid: int, pdu: bytes, unit: int = 1) -> bytes:
    return tid.to_bytes(2, "big") + b"\0\0" + (len(pdu) + 1).to_bytes(2, "big") + \
        bytes([unit]) + pdu


def test_raw_mutated_frames_do_not_stop_the_server(scenario, tmp_path):
    emulator = SunSpecEmulator(scenario, "battery_00", origin_file=tmp_path / "never")
    rng = random.Random(40001)
    good = [_mbap(1, bytes([3]) + (40000).to_bytes(2, "big") + (2).to_bytes(2, "big")),
            _mbap(2, bytes([16]) + (40400).to_bytes(2, "big") + b"\0\x02\x04\0\x01\0\x02"),
            _mbap(3, bytes([6]) + (40100).to_bytes(2, "big") + b"\x12\x34"),
            _mbap(4, bytes([23]) + (40000).to_bytes(2, "big") + b"\0\x02"
                  + (40400).to_bytes(2, "big") + b"\0\x01\x02\0\x01")]

    def mutate(frame: bytes) -> bytes:
        data = bytearray(frame)
        op = rng.choice(("flip", "cut", "junk", "len", "fc"))
        if op == "flip":
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif op == "cut":
            data = data[:rng.randrange(len(data))]
        elif op == "junk":
            data = bytearray(rng.randrange(256) for _ in range(rng.randint(1, 300)))
        elif op == "len":
            data[4:6] = rng.choice((0, 1, 2, 255, 65535)).to_bytes(2, "big")
        else:
            data[7] = rng.choice((0, 1, 2, 5, 8, 15, 22, 43, 90, 128, 131, 255))
        return bytes(data)

    async def run():
        port = await emulator.start()
        try:
            for _ in range(120):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(mutate(rng.choice(good)))
                await writer.drain()
                try:
                    await asyncio.wait_for(reader.read(512), 0.02)
                except TimeoutError:
                    pass  # no answer to a frame that is not one is allowed
                writer.close()
            client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
            await client.connect()
            head = await client.read_holding_registers(40000, count=2, device_id=1)
            client.close()
            return head.registers
        finally:
            await emulator.stop()

    with tracebacks() as tbs:
        assert asyncio.run(asyncio.wait_for(run(), 60)) == [0x5375, 0x6E53]
    assert not tbs, [r.getMessage() for r in tbs][:3]
