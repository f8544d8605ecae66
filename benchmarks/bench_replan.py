"""Benchmark: consecutive hourly re-plans of the reference site, warm against cold.

The FlexMeasures strategy of ``scenarios/martinique_baseline.yaml`` (10 batteries, 10
EV chargers, 96 steps of 15 min, persistence forecast), built as the twin builds it
(``agents.control.mosaik.make_strategy``), is driven in a closed loop at every hour:
the batteries and the plugged EVs hold the energy the plan in force said they would,
and seeded EV sessions (home chargers overnight, workplace chargers by day) plug in and
leave. Each re-plan is timed around ``SchedulingStrategy.decide`` (the request body,
parsing, building, solving and reading out: everything the strategy does for a plan).

The same recorded states are then re-planned by a second strategy with
``warm_start=False`` (a new HiGHS instance and a cold solve per plan, the oracle), plan
by plan in the same process; the plans' costs are compared.

    python benchmarks/bench_replan.py [--plans 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agents.control.mosaik import make_strategy  # noqa: E402
from agents.control.strategy import SiteState  # noqa: E402
from twin.scenario.assets import resolve_assets  # noqa: E402
from twin.scenario.loading import load_scenario  # noqa: E402

SCENARIO = ROOT / "scenarios" / "martinique_baseline.yaml"
STEPS_PER_HOUR = 4
EV_KEYS = ("departure_s", "e_kwh", "e_min_kwh", "e_max_kwh", "e_target_kwh", "eta_charge",
           "eta_discharge")


def reference_strategy(days: int = 5, **kw):
    """The twin's FlexMeasures strategy for the reference site, with its scenario."""
    scenario = load_scenario(str(SCENARIO), ["scheduling.strategy=flexmeasures",
                                             f"duration=P{days}D"])
    assets = resolve_assets(scenario)
    strategy = make_strategy(scenario, assets["battery"], assets["ev_charger"])
    for key, value in kw.items():  # e.g. warm_start=False (absent before this work)
        if hasattr(strategy, key):
            setattr(strategy, key, value)
    return scenario, assets, strategy


@dataclasses.dataclass
class Sessions:
    """Seeded EV sessions per charger: arrival and departure steps, energy on arrival."""

    arrive: np.ndarray  # (chargers, days) [step]
    leave: np.ndarray
    e_arrive_kwh: np.ndarray

    @classmethod
    def draw(cls, chargers: list, days: int, seed: int) -> Sessions:
        rng = np.random.default_rng(seed)
        work = np.array([c.spec.location == "workplace" for c in chargers])[:, None]
        day0 = np.arange(days)[None, :] * 24 * STEPS_PER_HOUR
        shape = (len(chargers), days)
        arrive_h = np.where(work, rng.normal(8.0, 0.7, shape), rng.normal(18.0, 1.5, shape))
        stay_h = np.where(work, rng.normal(8.5, 0.7, shape), rng.normal(13.0, 1.5, shape))
        arrive = day0 + np.round(arrive_h * STEPS_PER_HOUR).astype(int)
        leave = arrive + np.maximum(2, np.round(stay_h * STEPS_PER_HOUR).astype(int))
        return cls(arrive, leave, rng.uniform(15.0, 50.0, shape))

    def at(self, k: int) -> np.ndarray:
        """Per charger, the index of the session plugged in at step ``k`` (-1: none)."""
        on = (self.arrive <= k) & (k < self.leave)
        return np.where(on.any(axis=1), on.argmax(axis=1), -1)


def _state(scenario, assets, k: int, battery_e_kwh, ev: dict) -> SiteState:
    chargers = assets["ev_charger"]
    rated = np.array([c.spec.p_max_kw for c in chargers], dtype=float)
    batteries = [a.spec for a in assets["battery"]]
    time_k = pd.Timestamp(scenario.start) + pd.Timedelta(seconds=k * scenario.step_s)
    plugged = np.isfinite(ev["departure_s"])
    return SiteState(
        time=time_k.to_pydatetime(), dt_s=float(scenario.step_s), pv_p_kw=np.zeros(0),
        load_p_kw=np.zeros(0),
        battery_p_min_kw=-np.array([b.p_discharge_max_kw for b in batteries]),
        battery_p_max_kw=np.array([b.p_charge_max_kw for b in batteries]),
        battery_soc_percent=np.full(len(batteries), np.nan),
        charger_p_min_kw=np.where(plugged, -rated, 0.0),
        charger_p_max_kw=np.where(plugged, rated, 0.0), charger_rated_p_kw=rated,
        import_price_eur_per_kwh=0.2, feed_in_price_eur_per_kwh=0.1, step=k,
        battery_e_kwh=np.asarray(battery_e_kwh, dtype=float).copy(),
        charger_ev={key: v.copy() for key, v in ev.items()})


def _timed(f, *args) -> tuple[float, float]:
    """Wall and CPU seconds of ``f(*args)`` (CPU time is less moved by other jobs)."""
    wall, cpu = time.perf_counter(), time.process_time()
    f(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def record_states(n_plans: int, seed: int = 0, **kw):
    """Drive the strategy for ``n_plans`` hours; returns its states, each re-plan's wall
    time [s] and the strategy."""
    days = n_plans // 24 + 3
    scenario, assets, strategy = reference_strategy(days, **kw)
    sessions = Sessions.draw(assets["ev_charger"], days, seed)
    n_bat, n_ch = len(assets["battery"]), len(assets["ev_charger"])
    e_bat = np.array([b.spec.capacity_kwh * b.spec.soc_initial_percent / 100.0
                      for b in assets["battery"]])
    e_ev = np.full(n_ch, np.nan)
    states, times, last = [], [], -np.ones(n_ch, dtype=int)
    for h in range(n_plans):
        k = h * STEPS_PER_HOUR
        if strategy.plan is not None:  # the devices did what the plan in force said
            _, e_planned = strategy.planned(k - 1)
            e_bat = e_planned[:n_bat].copy()
            e_ev = e_planned[n_bat:].copy()
        session = sessions.at(k)
        rows = np.arange(n_ch)
        new = (session >= 0) & (session != last)
        e_ev = np.where(new, sessions.e_arrive_kwh[rows, session.clip(0)], e_ev)
        e_ev = np.where(session >= 0, e_ev, np.nan)
        last = session
        dep = np.where(session >= 0, sessions.leave[rows, session.clip(0)] * 900.0, np.nan)
        on = session >= 0
        ev = {"departure_s": dep, "e_kwh": e_ev,
              "e_min_kwh": np.where(on, 7.5, np.nan), "e_max_kwh": np.where(on, 75.0, np.nan),
              "e_target_kwh": np.where(on, 60.0, np.nan),
              "eta_charge": np.where(on, 0.92, np.nan), "eta_discharge": np.where(on, 0.92, np.nan)}
        state = _state(scenario, assets, k, e_bat, ev)
        times.append(_timed(strategy.decide, state))
        states.append(state)
    return states, np.array(times).reshape(-1, 2), strategy


def replay(states: list, **kw):
    """Re-plan the recorded states with a fresh strategy; wall time [s] and plan costs."""
    _, _, strategy = reference_strategy(len(states) // 24 + 3, **kw)
    times = []
    for state in states:
        strategy.plan = None  # a re-plan at every recorded state, as the recording made
        times.append(_timed(strategy.decide, state))
    costs = getattr(strategy.stats, "cost_eur", [np.nan] * len(states))
    return np.array(times).reshape(-1, 2), np.array(costs), strategy


def replan_figures(n_plans: int = 50, seed: int = 0) -> dict:
    """Consecutive hourly re-plans of the reference site, warm (the strategy's way) and
    cold (a new HiGHS instance per plan), on the same states; times in ms."""
    states, warm_s, warm = record_states(n_plans, seed)
    warm_costs = np.array(getattr(warm.stats, "cost_eur", [np.nan] * n_plans))
    cold_s, cold_costs, _ = replay(states, warm_start=False)
    figures = {"n_plans": n_plans}
    for name, t in (("", warm_s), ("cold_", cold_s)):  # the first plan is cold anyway
        figures[f"{name}median_ms"] = float(np.median(t[1:, 0]) * 1e3)
        figures[f"{name}p90_ms"] = float(np.percentile(t[1:, 0], 90) * 1e3)
        figures[f"{name}median_cpu_ms"] = float(np.median(t[1:, 1]) * 1e3)
    figures.update(first_plan_ms=float(warm_s[0, 0] * 1e3),
                   warm_solves=getattr(getattr(warm, "_warm", None), "warm_solves", 0),
                   fallbacks=getattr(getattr(warm, "_warm", None), "fallbacks", 0),
                   reasons=dict(warm.stats.reasons))
    if len(warm_costs) == len(cold_costs):
        rel = np.abs(warm_costs - cold_costs) / np.maximum(1.0, np.abs(cold_costs))
        figures["max_rel_cost_diff"] = float(rel.max())
    figures["speedup_vs_cold"] = figures["cold_median_ms"] / figures["median_ms"]
    figures["cpu_speedup_vs_cold"] = figures["cold_median_cpu_ms"] / figures["median_cpu_ms"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plans", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    f = replan_figures(args.plans, args.seed)
    print(f"reference site, {f['n_plans']} consecutive hourly re-plans "
          f"(request + parse + build + solve + read-out)")
    print(f"  warm (kept HiGHS, shifted basis): median {f['median_ms']:7.1f} ms   "
          f"p90 {f['p90_ms']:7.1f} ms   CPU median {f['median_cpu_ms']:6.1f} ms   "
          f"({f['warm_solves']} warm solves, {f['fallbacks']} solved cold again; first "
          f"plan {f['first_plan_ms']:.1f} ms)")
    print(f"  cold (new HiGHS per plan):        median {f['cold_median_ms']:7.1f} ms   "
          f"p90 {f['cold_p90_ms']:7.1f} ms   CPU median {f['cold_median_cpu_ms']:6.1f} ms")
    print(f"  ratio cold / warm (median): wall {f['speedup_vs_cold']:.2f}x, CPU "
          f"{f['cpu_speedup_vs_cold']:.2f}x; target: median < 20 ms")
    if "max_rel_cost_diff" in f:
        print(f"  plan cost, warm against cold: max relative difference "
              f"{f['max_rel_cost_diff']:.1e}")


if __name__ == "__main__":
    main()
