"""Benchmark: how late a HIL run's steps are at rt_factor 1 with 1 s steps.

It runs the loopback scenario (SunSpec PV and battery over Modbus TCP, two OCPP 2.0.1
stations, the OpenADR VEN against the test VTN, every emulator on this machine, the
FlexMeasures strategy re-planning every simulated minute over 10 minutes) in real time
with 1 s steps, and prints the lateness of the steps (``clock.lag_s``: wall time of a
step minus its scheduled time, from the first step), once paced by the HIL adapter's
own deadlines (the default) and once by mosaik's ``rt_factor`` (which polls every
rt_factor x 1 s). For the budget it also runs the
same scenario with every device simulated and without pacing, as fast as it goes, and
prints the compute time per step against the 1 s a real-time step has.

    python benchmarks/bench_hil_rt.py [--seconds 120]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twin.results import read_timeseries  # noqa: E402
from twin.runner import run_scenario  # noqa: E402
from twin.scenario.loading import load_scenario  # noqa: E402

LOOPBACK = ROOT / "scenarios" / "hil_loopback.yaml"


def overrides(seconds: int) -> list[str]:
    return [f"duration=PT{seconds}S", "step=PT1S", "hil.rt_factor=1",
            "scheduling.horizon=PT10M", "scheduling.replan_every=PT1M",
            "scheduling.flex_model={}", "hil.ev_dwell=PT1H", "hil.tolerances.settle_s=5",
            "outputs.report=false"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=120, help="run length [s] (default 120)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = {}
        for pacing in ("deadline", "mosaik"):
            sc = load_scenario(LOOPBACK, [*overrides(args.seconds), f"hil.pacing={pacing}"])
            print(f"HIL loopback at rt_factor 1, {sc.n_steps} steps of 1 s, pacing {pacing} "
                  "...", flush=True)
            t0 = time.perf_counter()
            result = run_scenario(sc, quiet=True, root=Path(tmp) / pacing)
            wall_s = time.perf_counter() - t0
            if result.status != "completed":
                print(f"run {result.status}: {result.error}", file=sys.stderr)
                return 1
            lag = read_timeseries(result.run_dir)["clock.lag_s"].to_numpy()
            late = np.maximum(lag - lag.min(), 0.0)  # from the earliest step: >= 0
            record = json.loads((result.run_dir / "hil" / "validation.json").read_text())
            rows[pacing] = (wall_s, late, record)

        sim = [*overrides(args.seconds), "hil.emulators=false", "hil.openadr=null",
               *(f"assets.{k}[{i}].backend=sim" for k, n in
                 (("pv", 1), ("battery", 1), ("ev_charger", 2)) for i in range(n))]
        sc_sim = load_scenario(LOOPBACK, sim)
        t1 = time.perf_counter()
        run_scenario(sc_sim, quiet=True, root=Path(tmp) / "sim")
        sim_s = time.perf_counter() - t1
    per_step_ms = 1000 * sim_s / sc_sim.n_steps
    print(f"{'pacing':<10}{'wall [s]':>9}{'median':>9}{'p95':>9}{'max':>9}  late > 100 ms"
          "   (step lateness [ms])")
    for pacing, (wall_s, late, record) in rows.items():
        print(f"{pacing:<10}{wall_s:>9.1f}{1000 * np.median(late):>9.1f}"
              f"{1000 * np.percentile(late, 95):>9.1f}{1000 * late.max():>9.1f}  "
              f"{(late > 0.1).sum()} of {len(late)}; faults "
              f"{record['faults_by_kind'] or 'none'}, validation "
              f"{'PASS' if record['pass'] else 'FAIL'}")
    d, m = (np.percentile(rows[k][1], 95) for k in ("deadline", "mosaik"))
    print(f"p95 lateness, mosaik's rt_factor / the deadline pacing: {m / max(d, 1e-6):.0f}x")
    print(f"the same scenario all simulated, unpaced: {per_step_ms:.1f} ms per step "
          f"(with scheduling and AC power flow): {1000 / per_step_ms:.0f}x headroom "
          "in a 1 s real-time step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
