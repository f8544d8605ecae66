"""Benchmark: the MQTT sensor path through the real Mosquitto on 127.0.0.1:1883.

For QoS 0 and QoS 1, the reference site's 40 assets (20 loads, 10 PV, 5 batteries,
5 EV chargers) are published by :class:`MqttPublisher` and read by :class:`MqttFeed`
(paho-mqtt, the production wildcard ``cariflex/sensors/+/+/power``):

- latency: ``--latency-steps`` steps one at a time (the next once the feed has the
  whole step); p50 / p95 / max of publish -> feed update per message;
- sustained throughput: ``--steps`` steps with at most two in flight (step k is
  published once the feed has step k-2); messages per second from the first publish
  to the last reading accepted by the feed;
- burst: ``--burst-steps`` steps back to back with no pacing; rate and losses (paho
  queues at most 10,000 QoS 1 messages; Mosquitto queues at most 1,000 per subscriber).

Values follow the twin's sign convention (PV negative); they do not matter here.

    python benchmarks/bench_mqtt.py [--steps 500] [--latency-steps 200] [--burst-steps 100]
                                    [--port 1883]

``--port`` points it at another broker on 127.0.0.1, e.g. one started with
``max_queued_messages 0`` (no per-client queue limit) to see where burst losses occur.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hil.base import FaultLog  # noqa: E402
from hil.mqtt import MqttFeed, MqttPublisher, Received  # noqa: E402
from hil.mqtt.testing import broker_missing_reason  # noqa: E402

HOST, PORT = "127.0.0.1", 1883


def reference_site() -> dict[tuple[str, str], tuple[float, str]]:
    """40 assets with unique ids, so parallel runs do not mix."""
    tag = uuid.uuid4().hex[:6]
    mix = [("load", 20, 1.2), ("pv", 10, -3.5), ("battery", 5, 2.0), ("ev_charger", 5, 7.4)]
    return {(kind, f"bench{tag}-{kind}{i}"): (p_kw, "kW")
            for kind, n, p_kw in mix for i in range(n)}


class Counter:
    """Counts the feed's accepted readings of our assets, and their arrival times."""

    def __init__(self, ids: set[str]):
        self.ids, self.n, self.cond = ids, 0, threading.Condition()
        self.arrivals: dict[tuple[str, str], float] = {}

    def __call__(self, got: Received) -> None:
        if got.reading.asset_id not in self.ids:
            return
        with self.cond:
            self.n += 1
            self.arrivals[(got.reading.asset_id, got.reading.timestamp.isoformat())] = got.t_mono
            self.cond.notify_all()

    def wait(self, n: int, timeout_s: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.n >= n, timeout_s)


def run(qos: int, steps: int, latency_steps: int, burst_steps: int) -> dict[str, float]:
    site = reference_site()
    n_site = len(site)
    counter = Counter({asset_id for _, asset_id in site})
    feed = MqttFeed(FaultLog(), host=HOST, port=PORT, qos=qos)
    feed.add_listener(counter)
    feed.start()
    pub = MqttPublisher(HOST, PORT, qos=qos)
    try:
        if not (feed.wait_connected(5) and pub.wait_connected(5)):
            raise SystemExit(f"could not connect to the broker on {HOST}:{PORT}")
        # latency: one step at a time
        latencies = []
        for k in range(1, latency_steps + 1):
            stamp = dt.datetime.now(dt.UTC)
            t_pub = time.monotonic()
            pub.publish_step(stamp, site)
            counter.wait(k * n_site, timeout_s=5)
            latencies += [counter.arrivals[(aid, stamp.isoformat())] - t_pub
                          for _, aid in site if (aid, stamp.isoformat()) in counter.arrivals]
        lat_ms = np.asarray(latencies) * 1e3
        # sustained throughput: at most two steps in flight (step k waits for step k-2)
        counter.n, counter.arrivals = 0, {}
        total = steps * n_site
        t0 = time.perf_counter()
        for k in range(steps):
            counter.wait((k - 1) * n_site, timeout_s=5)
            pub.publish_step(dt.datetime.now(dt.UTC), site)
        counter.wait(total, timeout_s=10)
        t_all = time.perf_counter() - t0
        received = counter.n
        # burst: every step back to back, no pacing
        counter.n, counter.arrivals = 0, {}
        burst = burst_steps * n_site
        t0 = time.monotonic()
        for _ in range(burst_steps):
            pub.publish_step(dt.datetime.now(dt.UTC), site)
        t_handed = time.monotonic() - t0
        counter.wait(burst, timeout_s=10)
        with counter.cond:  # up to the last arrival: a loss must not count the wait
            t_burst = max(counter.arrivals.values(), default=t0 + 1e-9) - t0
        return {"msgs_per_s": received / t_all, "lost": total - received, "total": total,
                "p50_ms": float(np.percentile(lat_ms, 50)),
                "p95_ms": float(np.percentile(lat_ms, 95)), "max_ms": float(lat_ms.max()),
                "lat_lost": latency_steps * n_site - len(lat_ms),
                "burst_handoff_per_s": burst / t_handed, "burst_per_s": counter.n / t_burst,
                "burst_lost": burst - counter.n, "burst": burst, "pub_dropped": pub.dropped}
    finally:
        pub.close()
        feed.stop()


def main() -> None:
    global PORT
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500, help="sustained steps of 40")
    parser.add_argument("--latency-steps", type=int, default=200)
    parser.add_argument("--burst-steps", type=int, default=100)
    parser.add_argument("--port", type=int, default=PORT, help="broker port on 127.0.0.1")
    args = parser.parse_args()
    PORT = args.port
    if (reason := broker_missing_reason(HOST, PORT)) is not None:
        raise SystemExit(reason)
    results = {qos: run(qos, args.steps, args.latency_steps, args.burst_steps)
               for qos in (0, 1)}
    print(f"MQTT sensor path via Mosquitto {HOST}:{PORT}, 40 assets per step: latency over "
          f"{args.latency_steps} steps one at a time, sustained rate over {args.steps} steps "
          f"(two in flight), burst of {args.burst_steps} steps back to back")
    print(f"{'QoS':>3} {'p50 [ms]':>9} {'p95 [ms]':>9} {'max [ms]':>9} {'sustained [msg/s]':>18} "
          f"{'lost':>9} {'burst [msg/s]':>14} {'burst lost':>12}")
    for qos, r in results.items():
        print(f"{qos:>3} {r['p50_ms']:>9.2f} {r['p95_ms']:>9.2f} {r['max_ms']:>9.2f} "
              f"{r['msgs_per_s']:>18,.0f} {r['lost']:>4}/{r['total']:<4} "
              f"{r['burst_per_s']:>14,.0f} {r['burst_lost']:>5}/{r['burst']:<6}")
    q0, q1 = results[0], results[1]
    print(f"QoS 1 / QoS 0: sustained throughput x{q1['msgs_per_s'] / q0['msgs_per_s']:.2f}, "
          f"p50 latency x{q1['p50_ms'] / q0['p50_ms']:.2f}, "
          f"p95 latency x{q1['p95_ms'] / q0['p95_ms']:.2f}")
    print(f"one 40-asset step end to end: {40 / q0['msgs_per_s'] * 1e3:.1f} ms at QoS 0, "
          f"{40 / q1['msgs_per_s'] * 1e3:.1f} ms at QoS 1 (sustained)")
    print("burst hand-off to paho [msg/s]: " + ", ".join(
        f"QoS {q} {r['burst_handoff_per_s']:,.0f} (dropped by the client {r['pub_dropped']})"
        for q, r in results.items()))

if __name__ == "__main__":
    main()
