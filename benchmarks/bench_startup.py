"""Start-up of the command line: wall time of the quick commands, and what they import.

For ``--help``, ``validate``, ``clear`` (examples/order_book.json, three orders) and
``schedule`` (examples/schedule_request.json) it runs each command ``--runs`` times in a
fresh interpreter (wall time: median and minimum) and once under ``python -X importtime``
(the total import time and the heaviest top-level packages). The naive way it is compared
with: an interpreter that imports the whole twin (runner, report, CLI) and does nothing.

    python benchmarks/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "--help": ["run.py", "--help"],
    "validate": ["run.py", "validate"],
    "clear": ["run.py", "clear", "examples/order_book.json", "--rule", "pay_as_clear"],
    "schedule": ["run.py", "schedule", "examples/schedule_request.json"],
    "naive: import everything": ["-c", "import twin.runner, twin.report.html, twin.cli.main, "
                                       "hil.session, hil.ocpp, hil.openadr"],
}


def wall_s(args: list[str], runs: int) -> list[float]:
    """Wall time of ``python ARGS`` in a fresh interpreter, ``runs`` times [s]."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, check=False)
        out.append(time.perf_counter() - t0)
    return out


def import_profile(args: list[str], top: int = 5) -> tuple[float, list[tuple[str, float]]]:
    """Total import time [s] and the ``top`` heaviest top-level packages (cumulative [s])."""
    res = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    per_package: dict[str, float] = {}
    for line in res.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, raw = line[len("import time:"):].split("|")
        if not cumulative.strip().isdigit():
            continue
        if not raw.startswith("  "):  # one space: imported by the program itself, not nested
            package = raw.strip().split(".")[0]
            per_package[package] = per_package.get(package, 0.0) + int(cumulative) / 1e6
    total = sum(per_package.values())
    heaviest = sorted(per_package.items(), key=lambda kv: -kv[1])[:top]
    return total, heaviest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    rows = []
    for name, args in COMMANDS.items():
        times = wall_s(args, runs)
        total, heaviest = import_profile(args)
        rows.append((name, statistics.median(times), min(times), total, heaviest))
        print(f"{name:26s} done", file=sys.stderr)
    naive = rows[-1][1]
    print(f"\n{'command':26s} {'median s':>9s} {'min s':>7s} {'imports s':>10s} "
          f"{'x naive':>8s}  heaviest imports (cumulative s)")
    for name, median, low, total, heaviest in rows:
        heavy = ", ".join(f"{p} {s:.2f}" for p, s in heaviest)
        print(f"{name:26s} {median:9.3f} {low:7.3f} {total:10.3f} {median / naive:8.2f}  {heavy}")


if __name__ == "__main__":
    main()
