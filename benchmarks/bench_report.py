"""Report speed: rebuilding kpis.json and report.html of existing run folders in-process.

Does what ``python run.py report RUN_DIR`` does (``twin.cli.run.cmd_report``): read the
run's series, compute its KPIs (with its sections' records, e.g. the market's) and write
``kpis.json``, then draw the figures and write ``plots/*.png`` and ``report.html``. The
reading of the Parquet files is timed apart and not counted in the report's time.

Figures (wall seconds, one process, after the imports):

- ``kpis_s``: KPIs and section records, kpis.json written (``twin.report.records.run_kpis``);
- ``plots_s``: figures, PNGs and the HTML page (``twin.report.html.write_report``);
- ``report_s``: the two together, the figure the targets of issue 14 are about
  (a year under 5 s, a day under 1 s); printed with its ratio to the target;
- ``report_cpu_s``: the CPU time of the same part (this process).

The naive way it is compared with is the code before the report work: ``--vs-src``
names a copy of it (``git archive <commit> | tar -x -C DIR``); this script then runs
itself with that code on copies of the folders first (a fresh interpreter), prints its
figures under each folder's, the ratios, and whether the two kpis.json are the same
byte for byte.

    python benchmarks/bench_report.py RUN_DIR [RUN_DIR ...] [--repeat 1] [--vs-src DIR]

The rebuild writes into each run folder (kpis.json, report.html, plots/, and a market
run's gsy/ and market/ files), as ``run.py report`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = {1: 1.0, 365: 5.0}  # issue 14: report of a day under 1 s, of a year under 5 s


def _read_json(path: Path, missing=None):
    return json.loads(path.read_text()) if path.is_file() else missing


def report_figures(run_dir: Path) -> dict:
    """Rebuild the report of ``run_dir`` in-process as ``run.py report`` does; returns
    ``{"report_s", "kpis_s", "plots_s", "read_s", "report_cpu_s", "read_cpu_s", "steps",
    "days"}`` [s]; the ``cpu`` figures are this process's CPU time (less noisy than wall
    time on a shared machine)."""
    from twin.report.html import write_report
    try:
        from twin.report.records import run_kpis
    except ImportError:  # code from before twin.report.records
        from twin.runner import run_kpis
    from twin.results import read_events, read_inputs, read_timeseries, write_json
    from twin.scenario.loading import load_scenario

    run_dir = Path(run_dir)
    c0 = time.process_time()
    t0 = time.perf_counter()
    scenario = load_scenario(run_dir / "scenario.yaml")
    ts, events, inputs = read_timeseries(run_dir), read_events(run_dir), read_inputs(run_dir)
    prov = _read_json(run_dir / "provenance.json", {})
    baseline = _read_json(run_dir / "baseline_kpis.json")
    t1, c1 = time.perf_counter(), time.process_time()
    kpis, market, hil = run_kpis(scenario, run_dir, ts, events)
    write_json(run_dir / "kpis.json", kpis)
    t2 = time.perf_counter()
    write_report(run_dir, scenario, ts, events, kpis, prov, inputs, baseline,
                 market=market, hil=hil)
    t3, c3 = time.perf_counter(), time.process_time()
    return {"report_s": t3 - t1, "kpis_s": t2 - t1, "plots_s": t3 - t2, "read_s": t1 - t0,
            "report_cpu_s": c3 - c1, "read_cpu_s": c1 - c0,
            "steps": len(ts), "days": len(ts) * scenario.step_s / 86400.0}


def _target(days: float) -> float | None:
    """The issue's target for a run of ``days`` (the nearest of a day or a year), or None."""
    near = [d for d in TARGET_S if abs(days - d) <= 0.05 * d]
    return TARGET_S[near[0]] if near else None


def _import_s() -> float:
    """Import the report stack (timed apart from the report) [s]."""
    t0 = time.perf_counter()
    import twin.report.html  # noqa: F401
    try:
        import twin.report.records  # noqa: F401
    except ImportError:  # code from before twin.report.records
        import twin.runner  # noqa: F401
    return time.perf_counter() - t0


def measure(run_dirs: list[Path], repeat: int) -> list[dict]:
    """:func:`report_figures` of each folder, the fastest of ``repeat`` rebuilds."""
    out = []
    for run_dir in run_dirs:
        runs = [report_figures(run_dir) for _ in range(max(1, repeat))]
        out.append({"run_dir": str(run_dir), **min(runs, key=lambda r: r["report_s"])})
    return out


def _other_code(src: Path, run_dirs: list[Path], repeat: int, work: Path) -> list[dict]:
    """The same measurement with the code in ``src`` (``PYTHONPATH``), in a fresh
    interpreter, on copies of the run folders under ``work``."""
    copies = []
    for k, run_dir in enumerate(run_dirs):
        copies.append(work / f"{k}-{run_dir.name}")
        shutil.copytree(run_dir, copies[-1])
    proc = subprocess.run([sys.executable, __file__, "--json", "--repeat", str(repeat),
                           *map(str, copies)], env={**os.environ, "PYTHONPATH": str(src)},
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"--vs-src failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(name: str, f: dict) -> str:
    target = _target(f["days"])
    verdict = (f"{target:g} s: {f['report_s'] / target:.2f}x of it "
               f"({'met' if f['report_s'] < target else 'NOT met'})") if target else "-"
    return (f"{name[-34:]:<34} {f['days']:>6.1f} {f['read_s']:>7.2f} {f['kpis_s']:>7.2f} "
            f"{f['plots_s']:>8.2f} {f['report_s']:>9.2f} {f['report_cpu_s']:>6.2f}  {verdict}")


HEADER = (f"{'run':<34} {'days':>6} {'read_s':>7} {'kpis_s':>7} {'plots_s':>8} "
          f"{'report_s':>9} {'cpu_s':>6}  target")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--repeat", type=int, default=1,
                    help="rebuild each folder this many times; the fastest is printed")
    ap.add_argument("--vs-src", type=Path, default=None,
                    help="a copy of other code (e.g. `git archive` of the commit before): "
                         "measured first on copies of the folders; ratios and whether "
                         "kpis.json is the same byte for byte")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.json:  # the other side of --vs-src
        _import_s()
        print(json.dumps(measure(args.run_dirs, args.repeat)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        work = Path(tmp)
        other = _other_code(args.vs_src, args.run_dirs, args.repeat, work) \
            if args.vs_src else None
        print(f"imports {_import_s():.2f} s")
        print(HEADER)
        for k, f in enumerate(measure(args.run_dirs, args.repeat)):
            print(_row(str(args.run_dirs[k]), f))
            if other is None:
                continue
            o = other[k]
            same = (Path(o["run_dir"]) / "kpis.json").read_bytes() == \
                (args.run_dirs[k] / "kpis.json").read_bytes()
            print(_row("  vs-src", o))
            print(f"  ratio vs-src/this: report {o['report_s'] / f['report_s']:.2f}x, cpu "
                  f"{o['report_cpu_s'] / f['report_cpu_s']:.2f}x, plots "
                  f"{o['plots_s'] / f['plots_s']:.2f}x; kpis.json "
                  f"{'identical' if same else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
