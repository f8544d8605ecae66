"""``python run.py [run] [SCENARIO]``: run a scenario; ``report RUN_DIR``: rebuild the KPIs
and report of a run folder. Exit codes: 0 ok, 1 the run failed (or a folder without
steps), 2 bad input, 3 a HIL device failed its validation."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from twin.cli.options import error, scenario_args


def add_run_parser(sub) -> argparse.ArgumentParser:
    """Add the ``run`` command to the CLI's subparsers."""
    p = sub.add_parser("run", help="run a scenario (default)",
                       formatter_class=argparse.RawTextHelpFormatter)
    scenario_args(p, optional=True)
    p.add_argument("--quiet", action="store_true", help="no progress bar, print only errors")
    p.add_argument("--out", type=Path, default=None,
                   help="results root folder (default: outputs.dir of the scenario)")
    return p


def add_report_parser(sub) -> argparse.ArgumentParser:
    """Add the ``report`` command to the CLI's subparsers."""
    p = sub.add_parser("report", help="rebuild KPIs and report of a run folder")
    p.add_argument("run_dir", type=Path)
    return p


def summary(k: dict, run_dir: Path) -> str:
    """The lines ``run`` prints when it is done: energies [kWh], voltages [pu], cost [EUR]
    and, for a market run, what traded peer to peer."""
    market = ""
    if "market_p2p_traded_kwh" in k:
        market = (f"  market: {k['market_p2p_traded_kwh']:.0f} kWh peer to peer at "
                  f"{k['market_p2p_rate_mean_ct_per_kwh']:.1f} ct/kWh on average, savings "
                  f"{k['market_savings_eur']:.2f} EUR against the utility only (stored-energy "
                  f"neutral); {k.get('market_self_supplied_kwh', 0.0):.0f} kWh own "
                  "consumption behind the meters\n")
    return (f"done in {run_dir}\n"
            f"  PV {k['pv_production_kwh']:.0f} kWh, import {k['grid_import_kwh']:.0f} kWh, "
            f"export {k['grid_export_kwh']:.0f} kWh, voltage {k['vm_min_pu']:.3f}-"
            f"{k['vm_max_pu']:.3f} pu, cost {k['cost_eur']:.2f} EUR\n"
            + market + f"  report: {run_dir / 'report.html'}")


def warn(k: dict) -> None:
    """Print the run's warnings (power flows that did not converge, limit episodes)."""
    if k.get("power_flow_nonconverged_steps"):
        print(f"warning: {k['power_flow_nonconverged_steps']} power flow(s) did not converge "
              "(see report)", file=sys.stderr)
    if k.get("limit_episodes"):
        from twin.report.limits import warning_line  # the report package: only after a run

        print(warning_line(k["limit_episodes"]), file=sys.stderr)


def cmd_run(args) -> int:
    """Run ``run``: load, run, print the summary; the exit code."""
    # the scenario schema and the whole simulation stack: only when a run starts
    from twin.runner import run_scenario
    from twin.scenario.loading import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    if not args.quiet:
        print(f"running {scenario.name}: {scenario.n_steps} steps of {scenario.step} "
              f"from {scenario.start.isoformat()}", file=sys.stderr)
    result = run_scenario(scenario, scenario_file=args.scenario, overrides=args.overrides,
                          quiet=args.quiet, root=args.out)
    if result.status != "completed":
        return error(f"run {result.status}: {result.error}\npartial results in {result.run_dir}", 1)
    warn(result.kpis)
    if not args.quiet:
        print(summary(result.kpis, result.run_dir))
    if scenario.is_hil:  # 3 when a device failed its validation
        from twin.report.hil.section import print_verdict

        return print_verdict(result.run_dir, args.quiet)
    return 0


def _read_json(path: Path, missing=None):
    return json.loads(path.read_text()) if path.is_file() else missing


def cmd_report(args) -> int:
    """Run ``report``: rebuild ``kpis.json`` and ``report.html`` of a run folder."""
    # pandas, the scenario schema and the report stack: only when a report is rebuilt
    from twin.report.html import write_report
    from twin.report.records import run_kpis
    from twin.results import read_events, read_inputs, read_timeseries, write_json
    from twin.scenario.loading import load_scenario

    run_dir = args.run_dir
    if not (run_dir / "scenario.yaml").is_file():
        return error(f"{run_dir} is not a run folder (no scenario.yaml)")
    scenario = load_scenario(run_dir / "scenario.yaml")
    ts, events = read_timeseries(run_dir), read_events(run_dir)
    if not len(ts):
        return error(f"{run_dir} holds no recorded steps", 1)
    prov = _read_json(run_dir / "provenance.json", {})
    baseline = _read_json(run_dir / "baseline_kpis.json")  # a strategy run's rule-based baseline
    kpis, market, hil = run_kpis(scenario, run_dir, ts, events)
    write_json(run_dir / "kpis.json", kpis)
    path = write_report(run_dir, scenario, ts, events, kpis, prov, read_inputs(run_dir),
                        baseline, market=market, hil=hil)
    print(f"wrote {path} ({len(ts)} steps)")
    if scenario.is_hil:  # the rebuilt validation gates as the run's own: 3 on a FAIL
        from twin.report.hil.section import print_verdict

        return print_verdict(run_dir)
    return 0
