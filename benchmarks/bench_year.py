"""Benchmark: a simulated year, whatever the strategy, against mosaik's own floor.

Every figure is measured in this one run on this machine, each command in its own
process (wall time and peak memory from the operating system):

- the floor: a bare mosaik world of 8 no-op simulators with 10 entities each, chained
  entity to entity, stepped every 900 s over the same number of steps;
- the baseline year (``scenarios/martinique_baseline.yaml``, rule-based);
- the FlexMeasures-strategy year (hourly re-planning, 24 h horizon, persistence forecast);
- the P2P market year (``scenarios/martinique_p2p.yaml``);
- a re-plan of the reference site (20 devices x 96 steps: build, solve, read out);
- report.html of the baseline year and of a day;
- the baseline year's peak memory (max RSS).

    python benchmarks/bench_year.py [--days 365] [--only floor baseline strategy p2p replan report]

Each run writes no report (``outputs.report=false``) and no baseline comparison; the
report figures rebuild report.html of the year's and a day's run folders in-process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEP_S = 900
TARGETS = {  # figure -> (what it is measured against, the largest ratio allowed)
    "baseline": ("floor", 1.5), "strategy": ("baseline", 1.5), "p2p": ("baseline", 3.0),
}
RUNS = {
    "baseline": ["scenarios/martinique_baseline.yaml"],
    "strategy": ["scenarios/martinique_baseline.yaml", "--set", "scheduling.strategy=flexmeasures"],
    "p2p": ["scenarios/martinique_p2p.yaml"],
}


# -- the floor: no-op simulators in a chain ---------------------------------------------
NOOP_META = {"api_version": "3.0", "type": "time-based",
             "models": {"M": {"public": True, "params": [], "attrs": ["x", "y"]}}}


def _noop_class():
    import mosaik_api_v3

    class Noop(mosaik_api_v3.Simulator):
        """Steps every 900 s; outputs 0.0 for every attribute asked."""

        def __init__(self):
            super().__init__(NOOP_META)

        def init(self, sid, time_resolution=1.0):
            return self.meta

        def create(self, num, model):
            return [{"eid": f"e{i}", "type": model} for i in range(num)]

        def step(self, time, inputs, max_advance):
            return time + STEP_S

        def get_data(self, outputs):
            return {eid: {a: 0.0 for a in attrs} for eid, attrs in outputs.items()}

    return Noop


def floor_run(n_steps: int, n_sims: int = 8, n_entities: int = 10) -> float:
    """The floor in this process: world.run time [s] of the chained no-op world."""
    import mosaik

    sys.modules["__bench_noop__"] = type(sys)("__bench_noop__")
    sys.modules["__bench_noop__"].Noop = _noop_class()
    world = mosaik.World({"Noop": {"python": "__bench_noop__:Noop"}}, debug=False,
                         skip_greetings=True, configure_logging=False)
    chain = [world.start("Noop").M.create(n_entities) for _ in range(n_sims)]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        for a, b in zip(upstream, downstream, strict=True):
            world.connect(a, b, ("x", "y"))
    t = time.perf_counter()
    world.run(until=n_steps * STEP_S, print_progress=False)
    return time.perf_counter() - t


# -- commands in their own processes ------------------------------------------------------
def timed(cmd: list[str]) -> dict:
    """Run ``cmd``; its wall time [s] and peak resident memory [MB]."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return {"wall_s": wall, "max_rss_mb": usage.ru_maxrss / 1024, "stdout": out}


def run_year(name: str, days: int, out: Path) -> dict:
    cmd = [sys.executable, "run.py", "run", *RUNS[name], "--quiet", "--out", str(out / name),
           "--set", f"duration=P{days}D", "--set", "outputs.report=false",
           "--set", "outputs.compare_baseline=false"]
    r = timed(cmd)
    run_dir = next((out / name).glob("*/*/provenance.json")).parent
    prov = json.loads((run_dir / "provenance.json").read_text())
    return {**r, "sim_s": prov["wall_time_s"], "run_dir": run_dir}


def floor_figures(n_steps: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--floor-steps", str(n_steps)]
    r = timed(cmd)
    return {**r, "sim_s": float(r["stdout"].strip().splitlines()[-1])}


def report_figures(run_dir: Path) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_report import report_figures as figures

    return figures(run_dir)


def replan_figures() -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_replan import replan_figures as figures

    return figures()


def line(name: str, r: dict, ref: dict | None = None, ref_name: str = "") -> str:
    text = (f"{name:<10} {r['wall_s']:8.1f} s command, {r['sim_s']:8.1f} s simulation, "
            f"{r['max_rss_mb']:6.0f} MB max RSS")
    if ref is not None:
        target = TARGETS.get(name, ("", None))[1]
        ratio = r["wall_s"] / ref["wall_s"]
        verdict = "" if target is None else (" meets" if ratio <= target else " MISSES")
        text += (f"   {ratio:5.2f}x {ref_name} (simulation {r['sim_s'] / ref['sim_s']:.2f}x); "
                 f"target <= {target}x{verdict}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--only", nargs="+", default=["floor", "baseline", "strategy", "p2p",
                                                      "replan", "report"])
    parser.add_argument("--floor-steps", type=int, help=argparse.SUPPRESS)  # the floor's process
    args = parser.parse_args()
    if args.floor_steps:
        print(floor_run(args.floor_steps))
        return
    sys.path.insert(0, str(ROOT))
    n_steps = args.days * 86400 // STEP_S
    print(f"{args.days} days = {n_steps} steps of {STEP_S} s; each command in its own process")
    got: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if "floor" in args.only:
            got["floor"] = floor_figures(n_steps)
            print(line("floor", got["floor"]), "(8 no-op simulators x 10 entities, chained)",
                  flush=True)
        for name in ("baseline", "strategy", "p2p"):
            if name in args.only:
                got[name] = run_year(name, args.days, out)
                ref_name = TARGETS[name][0]
                print(line(name, got[name], got.get(ref_name), ref_name), flush=True)
        if "replan" in args.only:
            r = replan_figures()
            print(f"re-plan    median {r['median_ms']:.1f} ms, p90 {r['p90_ms']:.1f} ms over "
                  f"{r['n_plans']} hourly re-plans (cold path {r['cold_median_ms']:.1f} ms: "
                  f"{r['cold_median_ms'] / r['median_ms']:.1f}x); target median < 20 ms "
                  f"{'meets' if r['median_ms'] < 20 else 'MISSES'}", flush=True)
        if "report" in args.only and "baseline" in got:
            day = run_year("baseline", 1, out / "day")
            for label, run_dir, target in (("year", got["baseline"]["run_dir"], 5.0),
                                           ("day", day["run_dir"], 1.0)):
                r = report_figures(run_dir)
                print(f"report     of a {label}: {r['report_s']:.2f} s (KPIs {r['kpis_s']:.2f} s, "
                      f"plots {r['plots_s']:.2f} s); target < {target} s "
                      f"{'meets' if r['report_s'] < target else 'MISSES'}", flush=True)
        if "baseline" in got:
            rss = got["baseline"]["max_rss_mb"]
            print(f"memory     baseline max RSS {rss:.0f} MB; target <= 620 MB "
                  f"{'meets' if rss <= 620 else 'MISSES'}")


if __name__ == "__main__":
    main()
