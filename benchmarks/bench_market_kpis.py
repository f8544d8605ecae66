"""Benchmark: market KPIs and the gsy-e exports against their per-area oracle.

Times ``area_kpis``, ``participant_bills``, ``market_summary`` and ``write_gsy_results``
(best of --runs, garbage collected before each run) on each record: the pickled
MarketRecords given as paths, else synthetic ones with --houses houses each
(``random_community`` of tests/twin/report/market/market_fixtures.py: --slots 15-min slots, about 1.2
trades per house and slot, one feeder per 100 houses). The oracle (tests/twin/
market_kpis_oracle.py, market_legs_oracle.py and gsy_export_oracle.py: plain per-area
loops written independently from the definitions) runs once per function in a forked child given --oracle-budget
seconds; past that the child is stopped and the oracle reported as skipped. Prints the
seconds, the speed-up and whether the results are identical (frames equal bit for bit,
the summaries equal, the four JSON files equal byte for byte), then the target:
market_summary + write_gsy_results under 10 s on a 1,000-house day.

    python benchmarks/bench_market_kpis.py [record.pkl ...] [--houses 40 1000]
        [--slots 96] [--runs 3] [--oracle-budget 120] [--seed 0]
"""

from __future__ import annotations

import argparse
import gc
import math
import multiprocessing
import os
import pickle
import platform
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "twin")]

import tests.twin.report.market.gsy_export_oracle as gsy_export_oracle  # noqa: E402
import tests.twin.report.market.market_kpis_oracle as market_kpis_oracle  # noqa: E402
from tests.twin.report.market.market_fixtures import random_community  # noqa: E402
from twin.report.market import summary as summary_module  # noqa: E402
from twin.report.market.gsy_export import FILES, write_gsy_results  # noqa: E402
from twin.report.market.kpis import MarketRecord, area_kpis, participant_bills  # noqa: E402

FUNCTIONS = ("area_kpis", "participant_bills", "market_summary", "write_gsy_results")
TARGET_S, TARGET_HOUSES = 10.0, 1000


def _oracle_summary(record: MarketRecord) -> dict:
    with mock.patch.multiple(summary_module, area_kpis=market_kpis_oracle.area_kpis):
        return summary_module.market_summary(record)


def calls(record: MarketRecord, out: Path) -> dict[str, tuple]:
    """name -> (fast call, oracle call)."""
    return {
        "area_kpis": (lambda: area_kpis(record),
                      lambda: market_kpis_oracle.area_kpis(record)),
        "participant_bills": (lambda: participant_bills(record),
                              lambda: market_kpis_oracle.participant_bills(record)),
        "market_summary": (lambda: summary_module.market_summary(record),
                           lambda: _oracle_summary(record)),
        "write_gsy_results": (lambda: write_gsy_results(record, out / "fast"),
                              lambda: gsy_export_oracle.write_gsy_results(record, out / "oracle")),
    }


def best_of(fn, runs: int) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _child(fn, conn) -> None:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    conn.send((time.perf_counter() - start, result))


def budgeted(fn, budget: float) -> tuple[float | None, object]:
    """(seconds, result) of fn in a forked child; (None, why not) past ``budget``."""
    if budget <= 0:
        return None, "skipped (--oracle-budget 0)"
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(fn, send))
    child.start()
    send.close()  # the child's copy stays open: EOF here when it dies
    try:
        if recv.poll(budget):
            return recv.recv()
        child.terminate()  # only the child started here
        return None, f"skipped: over the {budget:.0f} s budget"
    except EOFError:
        return None, f"failed (exit code {child.exitcode})"
    finally:
        child.join()


def same(name: str, fast, slow) -> bool:
    if name == "write_gsy_results":
        return all(fast[s].read_bytes() == slow[s].read_bytes() for s in FILES)
    if name == "market_summary":
        return fast.keys() == slow.keys() and all(
            a == b or (math.isnan(a) and math.isnan(b)) for a, b in
            ((fast[k], slow[k]) for k in fast))
    return fast.equals(slow)  # same axes, dtypes and values (NaN = NaN), no tolerance


def bench(label: str, record: MarketRecord, runs: int, budget: float) -> dict[str, float]:
    print(f"\n{label}: {len(record.areas)} areas, {len(record.participants)} participants, "
          f"{len(record.trades)} trades, {len(record.slots())} slots")
    print(f"{'function':<20}{'fast [s]':>10}{'oracle [s]':>12}{'speed-up':>10}  identical")
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (fast, slow) in calls(record, Path(tmp)).items():
            times[name], result = best_of(fast, runs)
            oracle_s, oracle_result = budgeted(slow, budget)
            if oracle_s is None:
                print(f"{name:<20}{times[name]:>10.3f}  oracle {oracle_result}")
                continue
            print(f"{name:<20}{times[name]:>10.3f}{oracle_s:>12.2f}"
                  f"{oracle_s / times[name]:>9.0f}x  "
                  f"{'yes' if same(name, result, oracle_result) else 'NO'}")
    both = times["market_summary"] + times["write_gsy_results"]
    print(f"market_summary + write_gsy_results: {both:.2f} s")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="*", type=Path, help="pickled MarketRecords")
    parser.add_argument("--houses", type=int, nargs="+", default=[40, 1000])
    parser.add_argument("--slots", type=int, default=96)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--oracle-budget", type=float, default=120.0,
                        help="seconds the oracle may take per function; 0: skip it")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores; best of {args.runs}; "
          f"oracle budget {args.oracle_budget:.0f} s per function")
    totals = {}
    for path in args.records:
        with open(path, "rb") as f:
            record = pickle.load(f)
        totals[str(path)] = bench(str(path), record, args.runs, args.oracle_budget)
    for houses in [] if args.records else args.houses:
        start = time.perf_counter()
        record = random_community(houses=houses, slots=args.slots, seed=args.seed)
        label = (f"synthetic, {houses} houses (seed {args.seed}, made in "
                 f"{time.perf_counter() - start:.1f} s)")
        totals[label] = bench(label, record, args.runs, args.oracle_budget)
    print(f"\ntarget: market_summary + write_gsy_results < {TARGET_S:.0f} s on a "
          f"{TARGET_HOUSES}-house day")
    for label, t in totals.items():
        both = t["market_summary"] + t["write_gsy_results"]
        print(f"  {label}: {both:.2f} s {'ok' if both < TARGET_S else 'MISSED'}")


if __name__ == "__main__":
    main()
