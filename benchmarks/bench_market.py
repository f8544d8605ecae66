"""Benchmark: one simulated day of the P2P market (15-min slots, 10 ticks) in mosaik.

For each community size it builds the P2P scenario with that many households on a
feeder sized for them, runs the co-simulation (Mesa agents, market operator, device
models, AC power flow of every step) and then the post-processing (KPIs, the market
record, gsy-e exports, report off), and prints the wall times.

Targets (issue 4): 40 agents under 5 s, 1,000 agents under 60 s, power flow included.
For scale: a gsy-e run of 40 houses over one day with 15 s ticks took about 11 minutes
on a machine like this one, without power flow (the issue's figure, not measured here);
the last column is that figure over ours.

    python benchmarks/bench_market.py [--agents 40 1000]

``--days D`` instead runs the P2P scenario (40 participants) for D days, co-simulation only,
both ways the market can sit in mosaik, alternately (``--runs`` pairs): the community
and the operator as two simulators stepped every tick (``twin.world``'s wiring today)
and as one simulator stepped every slot, running the slot's ticks inside
(``CommunityMarketSim``); it prints the wall and CPU seconds of each, their ratios, the
market simulator's own share, and whether the trades and every recorded series are the
same. Issue 14: the P2P year within 3x of the baseline year.

    python benchmarks/bench_market.py --days 7 [--runs 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twin import world as tw  # noqa: E402
from twin.report.kpis import compute_kpis  # noqa: E402
from twin.report.market.section import finish_market  # noqa: E402
from twin.results import read_events, read_timeseries  # noqa: E402
from twin.runner import quiet_mosaik  # noqa: E402
from twin.scenario.loading import load_scenario  # noqa: E402
from twin.scenario.participants import resolve_participants  # noqa: E402
from twin.world import build_world  # noqa: E402

TARGET_S = {40: 5.0, 1000: 60.0}
GSY_E_40_HOUSES_DAY_S = 11 * 60.0  # the figure for gsy-e, 15 s ticks, no power flow


def scenario_for(n: int):
    """The P2P scenario with ``n`` households; above 40 on a feeder of 20 x n/20 buses
    (15 m sections, 4 MVA transformer), 30 % with PV, 20 % with a battery and an EV."""
    if n <= 40:
        overrides = [f"assets.load.count={n}"]
    else:
        overrides = [f"assets.load.count={n}", f"assets.pv.count={n * 3 // 10}",
                     f"assets.battery.count={n // 5}", f"assets.ev_charger.count={n // 5}",
                     f"assets.ev.count={n // 5}", "grid.n_feeders=20",
                     f"grid.buses_per_feeder={n // 20}", "grid.trafo_sn_kva=4000",
                     "grid.line_length_m=15"]
    sc = load_scenario(ROOT / "scenarios" / "martinique_p2p.yaml",
                       [*overrides, "outputs.report=false"])
    if n > 40:  # the count form's per-item overrides are for the 10-charger site
        sc.assets.ev_charger.items, sc.assets.ev.items = [], []
    return sc


def cosim(sc) -> tuple[float, Path]:
    run_dir = Path(tempfile.mkdtemp(prefix="bench_market_"))
    t = time.perf_counter()
    world, until = build_world(sc, run_dir)
    world.run(until=until, print_progress=False)
    return time.perf_counter() - t, run_dir


def coupled_run(sc, slot: bool) -> tuple[float, float, float, Path]:
    """One co-simulation with the market stepped per tick (two simulators) or per slot
    (one): (wall s, CPU s of this process, CPU s inside the market simulators, run dir)."""
    from agents.community.mosaik import CommunityMarketSim, CommunitySim
    from agents.market.mosaik import MarketSim

    inside = [0.0]
    classes = (CommunityMarketSim,) if slot else (CommunitySim, MarketSim)
    originals = {cls: cls.__dict__.get("step") for cls in classes}

    def timed(step):
        def wrapper(self, time_s, inputs, max_advance):
            t = time.process_time()
            try:
                return step(self, time_s, inputs, max_advance)
            finally:
                inside[0] += time.process_time() - t
        return wrapper

    for cls in classes:
        cls.step = timed(cls.step)
    saved = dict(tw.SIM_CONFIG), tw.control_for
    tw.control_for = lambda s: tw.MarketControl(ticked=not slot)
    try:
        run_dir = Path(tempfile.mkdtemp(prefix="bench_market_"))
        w, c = time.perf_counter(), time.process_time()
        world, until = build_world(sc, run_dir)
        world.run(until=until, print_progress=False)
        return time.perf_counter() - w, time.process_time() - c, inside[0], run_dir
    finally:
        tw.SIM_CONFIG.clear()
        tw.SIM_CONFIG.update(saved[0])
        tw.control_for = saved[1]
        for cls, step in originals.items():
            if step is None:
                del cls.step
            else:
                cls.step = step


def same_run(a: Path, b: Path) -> bool:
    """Trades, fees and every recorded series equal (series compared by name)."""
    from twin.results import read_market_table

    same = all(read_market_table(a, n).equals(read_market_table(b, n))
               for n in ("trades", "fees"))
    ta, tb = read_timeseries(a), read_timeseries(b)
    return same and set(ta.columns) == set(tb.columns) and ta.equals(tb[list(ta.columns)])


def coupling(days: int, runs: int) -> None:
    sc = load_scenario(ROOT / "scenarios" / "martinique_p2p.yaml",
                       [f"duration=P{days}D", "outputs.report=false"])
    print(f"P2P scenario, {days} days, co-simulation only; {runs} pair(s), tick then slot")
    print(f"{'coupling':<6} {'wall [s]':>9} {'cpu [s]':>8} {'market cpu [s]':>15} "
          f"{'market ms/day':>14}")
    got: dict[str, list] = {"tick": [], "slot": []}
    for _ in range(runs):
        for name in got:
            got[name].append(coupled_run(sc, slot=name == "slot"))
            wall, cpu, inside, _ = got[name][-1]
            print(f"{name:<6} {wall:>9.2f} {cpu:>8.2f} {inside:>15.2f} "
                  f"{inside / days * 1e3:>14.1f}", flush=True)
    for k, label in ((0, "wall"), (1, "cpu"), (2, "market cpu")):
        ratios = sorted(t[k] / s[k] for t, s in zip(got["tick"], got["slot"], strict=True))
        print(f"tick / slot {label}: {ratios[len(ratios) // 2]:.2f}x (median of {runs})")
    print("same trades, fees and series: "
          + ("yes" if same_run(got["tick"][0][3], got["slot"][0][3]) else "NO"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=int, nargs="+", default=[40, 1000])
    ap.add_argument("--days", type=int, help="compare the market's two couplings instead")
    ap.add_argument("--runs", type=int, default=1, help="pairs of runs (with --days)")
    args = ap.parse_args()
    quiet_mosaik()
    if args.days:
        coupling(args.days, args.runs)
        return
    print(f"{'agents':>6} {'buses':>6} {'co-sim [s]':>11} {'post [s]':>9} {'trades':>8} "
          f"{'target':>8}  gsy-e 40 houses / ours")
    for n in args.agents:
        sc = scenario_for(n)
        agents = len(resolve_participants(sc))
        wall, run_dir = cosim(sc)
        t = time.perf_counter()
        ts = read_timeseries(run_dir)
        compute_kpis(sc, ts, read_events(run_dir))
        record, _ = finish_market(sc, run_dir, ts)
        post = time.perf_counter() - t
        target = TARGET_S.get(n)
        verdict = f"{'met' if wall < target else 'MISSED'} <{target:g}" if target else "-"
        ratio = f"{GSY_E_40_HOUSES_DAY_S / wall:.0f}x" if n <= 40 else "-"
        buses = len(sc.grid.lv_bus_names())
        print(f"{agents:>6} {buses:>6} {wall:>11.1f} {post:>9.1f} {len(record.trades):>8} "
              f"{verdict:>8}  {ratio}", flush=True)


if __name__ == "__main__":
    main()
