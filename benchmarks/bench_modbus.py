"""Benchmark: Modbus TCP round trips over loopback against the SunSpec emulator.

Times (median, p95) of a one-register read, a whole-model read (701, 155 registers:
two requests; and 103, 52 registers: one request), a WMaxLimPct write + read-back on a
PV inverter (704), and the naive way of reading a model: one request per point, with
the ratio naive / whole-model. Client and server share one event loop (one process, no
threads), as a bridge and a device emulator would not: the figures are a lower bound of
what a real device on a LAN costs.

    python benchmarks/bench_modbus.py [--n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hil.sunspec.client import SunSpecClient  # noqa: E402
from hil.sunspec.emulator import SunSpecEmulator  # noqa: E402
from hil.sunspec.models import model  # noqa: E402
from twin.scenario.loading import load_scenario  # noqa: E402


async def timed(n: int, fn) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def stats(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[min(len(ms) - 1, int(0.95 * len(ms)))]


async def run(n: int) -> None:
    scenario = load_scenario(ROOT / "scenarios/martinique_baseline.yaml",
                             ["start=2026-06-01T11:00:00-04:00"])
    results: dict[str, tuple[float, float]] = {}
    for asset in ("pv_00", "battery_00"):
        emulator = SunSpecEmulator(scenario, asset)
        port = await emulator.start()
        try:
            async with SunSpecClient("127.0.0.1", port, timeout_s=2.0) as client:
                await client.scan()
                if asset == "pv_00":
                    start701 = client.models[701][0]
                    results["read 1 register (701 W)"] = stats(
                        await timed(n, lambda s=start701: client.read_registers(s + 10, 1)))
                    results["read model 701 (155 regs, 2 requests)"] = stats(
                        await timed(n, lambda: client.read_model(701)))
                    pct = iter([37.5, 62.5] * n)

                    async def write_back(pct=pct) -> None:
                        value = next(pct)
                        await client.write_points(704, {"WMaxLimPct": value, "WMaxLimPctEna": 1})
                        back = await client.read_model(704)
                        assert back["WMaxLimPct"] == value

                    results["write WMaxLimPct + read-back 704"] = stats(await timed(n, write_back))
                    naive_model = 701
                else:
                    results["read model 103 (52 regs, 1 request)"] = stats(
                        await timed(n, lambda: client.read_model(103)))
                    naive_model = 103
                start = client.models[naive_model][0]
                points = model(naive_model).points

                async def naive(points=points, start=start) -> None:
                    for p in points:
                        await client.read_registers(start + p.offset, p.size)

                results[f"naive: model {naive_model} point by point ({len(points)} requests)"] = (
                    stats(await timed(max(n // 10, 10), naive)))
        finally:
            await emulator.stop()
    print(f"Modbus TCP loopback, SunSpec emulator, n = {n} per figure (naive: n/10)")
    print(f"{'operation':<52} {'median ms':>10} {'p95 ms':>8}")
    for name, (med, p95) in results.items():
        print(f"{name:<52} {med:>10.3f} {p95:>8.3f}")
    for m in (701, 103):
        whole = next(v for k, v in results.items() if k.startswith(f"read model {m}"))
        naive = next(v for k, v in results.items() if k.startswith(f"naive: model {m}"))
        print(f"ratio naive / whole model {m}: {naive[0] / whole[0]:.1f}x (median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="round trips per figure")
    args = parser.parse_args()
    asyncio.run(run(args.n))


if __name__ == "__main__":
    main()
