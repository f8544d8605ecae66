"""Benchmark: built-in device scheduler against FlexMeasures' device_scheduler.

Solves the same seeded random problems (batteries + EVs with departure targets, site
limits, prices with negative values) with both and prints solve times, their ratio and
the cost difference. Needs the flexmeasures extra (``pip install -e ".[flexmeasures]"``).

    python benchmarks/bench_scheduler.py [--sizes 20x96 40x192] [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.scheduling.device_scheduler import schedule_devices  # noqa: E402
from tests.agents.scheduling.fm_problems import random_problem, to_flexmeasures  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["20x96", "40x192"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fm-solver", default="highspy",
                        help="FLEXMEASURES_LP_SOLVER: highspy (its default) or appsi_highs")
    args = parser.parse_args()
    from flask import Flask
    from flexmeasures.data.models.planning.linear_optimization import device_scheduler

    app = Flask("bench")
    app.config.update(FLEXMEASURES_LP_SOLVER=args.fm_solver, LOGGING_LEVEL="INFO")
    print(f"{'size':>8} {'seed':>4} {'builtin [s]':>11} {'FM [s]':>9} {'ratio':>6} "
          f"{'MILP':>5} {'rel. cost diff':>14}")
    for size in args.sizes:
        n_dev, n = (int(v) for v in size.split("x"))
        ratios = []
        for seed in range(args.seeds):
            p = random_problem(seed, n=n, n_batteries=n_dev // 2, n_evs=n_dev - n_dev // 2)
            t = time.perf_counter()
            ours = schedule_devices(p["devices"], n, p["ems_min"], p["ems_max"], p["commitments"])
            t_ours = time.perf_counter() - t
            frames, ems, commitments, stocks = to_flexmeasures(p)
            with app.app_context():
                t = time.perf_counter()
                _, cost, _, _ = device_scheduler(frames, ems, commitments=commitments,
                                                 initial_stock=stocks)
                t_fm = time.perf_counter() - t
            ratios.append(t_fm / t_ours)
            rel = abs(ours.cost - cost) / max(1.0, abs(cost))
            print(f"{size:>8} {seed:>4} {t_ours:>11.3f} {t_fm:>9.3f} {t_fm / t_ours:>6.1f} "
                  f"{ours.mip!s:>5} {rel:>14.1e}", flush=True)
        print(f"{size:>8} median speed-up {np.median(ratios):.1f}x "
              f"(min {min(ratios):.1f}x, max {max(ratios):.1f}x)")


if __name__ == "__main__":
    main()
