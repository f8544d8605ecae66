"""Benchmark: OCPP 2.0.1 round trips per second against the CSMS on loopback.

The CSMS (:class:`hil.ocpp.csms.Csms`, schema validation on) runs in its own process;
N stations (``ocpp.v201.ChargePoint`` clients, schema validation on too) in this
process each boot, then send MeterValues (or Heartbeat) as fast as the answers come
for ``--seconds``. Prints completed round trips per second, p50/p95 latency, for one
station and for ``--stations``, and the ratio of the two rates.

    python benchmarks/bench_ocpp.py [--stations 10] [--seconds 5] [--action MeterValues]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402
from ocpp.v201 import ChargePoint, call  # noqa: E402

from hil.ocpp.meter import meter_value  # noqa: E402
from hil.ocpp.rpc import SUBPROTOCOL  # noqa: E402


def _csms_process(port_queue, stop_event) -> None:
    from hil.ocpp.csms import Csms

    async def run() -> None:
        csms = Csms()
        port_queue.put(await csms.start("127.0.0.1", 0))
        while not stop_event.is_set():
            await asyncio.sleep(0.1)
        await csms.stop()

    asyncio.run(run())


async def _station(port: int, name: str, action: str, t_end: float, lat: list[float]) -> int:
    async with websockets.connect(f"ws://127.0.0.1:{port}/{name}", subprotocols=[SUBPROTOCOL],
                                  ping_interval=None) as ws:
        cp = ChargePoint(name, ws, response_timeout=10)
        reader = asyncio.create_task(cp.start())
        await cp.call(call.BootNotification(
            charging_station={"model": "bench", "vendor_name": "Cariflex"}, reason="PowerUp"))
        n, e_kwh = 0, 0.0
        while time.perf_counter() < t_end:
            if action == "Heartbeat":
                payload = call.Heartbeat()
            else:
                e_kwh += 0.001
                payload = call.MeterValues(evse_id=1, meter_value=[
                    meter_value(time.time(), 7.4, e_kwh, 55.0)])
            t0 = time.perf_counter()
            await cp.call(payload)
            lat.append(time.perf_counter() - t0)
            n += 1
        reader.cancel()
        return n


async def _round(port: int, stations: int, action: str, seconds: float) -> dict:
    lat: list[float] = []
    t0 = time.perf_counter()
    counts = await asyncio.gather(*[_station(port, f"bench{i:02d}", action, t0 + seconds, lat)
                                    for i in range(stations)])
    wall = time.perf_counter() - t0
    q = statistics.quantiles(lat, n=20)
    return {"stations": stations, "msgs": sum(counts), "rate": sum(counts) / wall,
            "p50_ms": statistics.median(lat) * 1e3, "p95_ms": q[18] * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--action", choices=["MeterValues", "Heartbeat"], default="MeterValues")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    port_queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_csms_process, args=(port_queue, stop), daemon=True)
    server.start()
    try:
        port = port_queue.get(timeout=30)
        print(f"CSMS on 127.0.0.1:{port} (own process), {args.action}, "
              f"{args.seconds:g} s per round, schema validation on both ends")
        print(f"{'stations':>8} {'round trips':>11} {'msgs/s':>8} {'p50 [ms]':>9} {'p95 [ms]':>9}")
        results = []
        for n in (1, args.stations):
            r = asyncio.run(_round(port, n, args.action, args.seconds))
            results.append(r)
            print(f"{r['stations']:>8} {r['msgs']:>11} {r['rate']:>8.0f} {r['p50_ms']:>9.2f} "
                  f"{r['p95_ms']:>9.2f}")
        print(f"ratio {args.stations} stations / 1 station: "
              f"{results[1]['rate'] / results[0]['rate']:.2f}x msgs/s")
    finally:
        stop.set()
        server.join(10)


if __name__ == "__main__":
    main()
