"""Benchmark: the baseline scenario over 1, 30 and 365 days at 15 min.

Prints wall time, simulated steps per second, and where the time goes (power flow,
device models, controller, recorder, mosaik itself), then the per-step power-flow
time of the prebuilt lightsim2grid model against pandapower ``runpp`` on the same
feeder and the same injections.

    python benchmarks/bench_baseline.py [--days 1 30 365] [--pf-steps 2000]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.control.mosaik import ControllerSim  # noqa: E402
from simulators.feeder.model import Feeder, FeederParams, create_lv_radial  # noqa: E402
from simulators.feeder.part import FeederPart  # noqa: E402
from simulators.site.mosaik import SiteSim  # noqa: E402
from twin.recorder import RecorderSim  # noqa: E402
from twin.runner import run_scenario  # noqa: E402
from twin.scenario.loading import load_scenario  # noqa: E402

ACC: collections.Counter = collections.Counter()


def _timed(cls, name: str, bucket):
    original = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            ACC[bucket(self) if callable(bucket) else bucket] += time.perf_counter() - t

    setattr(cls, name, wrapper)


DEVICES = "device models + site adapter"
FEEDER = "feeder part (excl. power flow)"
FLOW = "power flow (lightsim2grid + refinement)"


def instrument() -> None:
    """Time the site simulator (its feeder part and power flow apart), the controller and
    the recorder; mosaik is what remains of the run's wall time."""
    for name in ("step", "get_data"):
        _timed(SiteSim, name, DEVICES)
        _timed(ControllerSim, name, "controller")
        _timed(RecorderSim, name, "recorder (incl. Parquet)")
    _timed(FeederPart, "advance", FEEDER)
    _timed(Feeder, "solve", FLOW)


def bench_run(days: int) -> dict:
    scenario = load_scenario(ROOT / "scenarios" / "martinique_baseline.yaml",
                             [f"duration=P{days}D", "outputs.report=false"])
    ACC.clear()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        result = run_scenario(scenario, quiet=True, root=Path(tmp))
        wall = time.perf_counter() - t
        prov = json.loads((result.run_dir / "provenance.json").read_text())
    assert result.status == "completed", result.error
    split = dict(ACC)
    # the site's step contains the feeder part, which contains the solve: each once
    split[DEVICES] = split.get(DEVICES, 0.0) - split.get(FEEDER, 0.0)
    split[FEEDER] = split.get(FEEDER, 0.0) - split.get(FLOW, 0.0)
    inside = sum(split.values())
    sim_wall = prov["wall_time_s"]  # world assembly and mosaik run
    split["mosaik (scheduling, data flow)"] = sim_wall - inside
    split["results set-up, KPIs"] = wall - sim_wall
    return {"days": days, "steps": scenario.n_steps, "wall_s": wall, "split": split}


def bench_power_flow(n_steps: int) -> dict:
    feeder = Feeder(create_lv_radial(FeederParams()))
    rng = np.random.default_rng(0)
    n = len(feeder.load_bus)
    cases = [(rng.uniform(-15, 45, n), rng.uniform(0, 8, n)) for _ in range(n_steps)]
    t = time.perf_counter()
    for p, q in cases:
        feeder.solve(p, q)
    ls = (time.perf_counter() - t) / n_steps
    n_pp = max(20, n_steps // 40)
    t = time.perf_counter()
    for p, q in cases[:n_pp]:
        feeder.solve_pandapower(p, q)
    pp_s = (time.perf_counter() - t) / n_pp
    dv = max(np.abs(feeder.solve(p, q).vm_pu - feeder.solve_pandapower(p, q).vm_pu).max()
             for p, q in cases[:10])
    return {"lightsim_ms": ls * 1e3, "pandapower_ms": pp_s * 1e3, "max_dv_pu": dv}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, nargs="+", default=[1, 30, 365])
    parser.add_argument("--pf-steps", type=int, default=2000)
    args = parser.parse_args()
    instrument()
    print(f"{'days':>5} {'steps':>7} {'wall [s]':>9} {'steps/s':>8}  time split")
    for days in args.days:
        r = bench_run(days)
        split = ", ".join(f"{k} {v:.1f} s ({100 * v / r['wall_s']:.0f}%)"
                          for k, v in sorted(r["split"].items(), key=lambda kv: -kv[1]))
        print(f"{r['days']:>5} {r['steps']:>7} {r['wall_s']:>9.1f} "
              f"{r['steps'] / r['wall_s']:>8.0f}  {split}", flush=True)
    pf = bench_power_flow(args.pf_steps)
    print(f"\npower flow per step on the baseline feeder ({args.pf_steps} steps):\n"
          f"  lightsim2grid (prebuilt) + double-precision refinement: {pf['lightsim_ms']:.3f} ms\n"
          f"  pandapower runpp:                                        {pf['pandapower_ms']:.3f} ms\n"
          f"  speed-up: {pf['pandapower_ms'] / pf['lightsim_ms']:.0f}x; "
          f"max voltage difference {pf['max_dv_pu']:.1e} pu")


if __name__ == "__main__":
    main()
