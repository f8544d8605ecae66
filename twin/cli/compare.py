"""``python run.py compare``: one market scenario under several clearing rules.

Each rule runs the same scenario and seed (only ``market.rule`` differs) in its own
process, as many at once as there are cores (``--jobs``), into
``<out>/<scenario>-compare/<timestamp>/<rule>/``; then ``comparison.html`` and
``comparison.json`` are written beside them from what each run wrote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from twin.cli.options import RULES


def _run_one(scenario_file: str, overrides: list[str], rule: str, root: str) -> dict:
    from twin.runner import run_scenario  # in the worker process
    from twin.scenario.loading import load_scenario

    scenario = load_scenario(scenario_file, [*overrides, f"market.rule={rule}"])
    t0 = time.perf_counter()
    result = run_scenario(scenario, scenario_file=scenario_file,
                          overrides=[*overrides, f"market.rule={rule}"], quiet=True,
                          root=Path(root) / rule)
    return {"rule": rule, "run_dir": str(result.run_dir), "status": result.status,
            "error": result.error, "wall_time_s": time.perf_counter() - t0}


def compare(scenario_file: str, rules: list[str], overrides: list[str], out: Path | None,
            jobs: int | None, quiet: bool) -> tuple[Path, list[dict]]:
    """Run every rule and write the comparison; returns its folder and the runs."""
    # the scenario schema (pydantic): only when a comparison starts
    from twin.scenario.errors import ScenarioError
    from twin.scenario.loading import load_scenario

    scenario = load_scenario(scenario_file, overrides)
    if scenario.market is None:
        raise ScenarioError(scenario_file, [("market", "compare needs a scenario with a "
                                             "market section, e.g. scenarios/martinique_p2p.yaml")])
    for r in rules:
        if r not in RULES:
            raise ValueError(f"rules: {r!r} is not one of {', '.join(RULES)}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = (out or scenario.outputs.dir) / f"{scenario.name}-compare" / stamp
    folder.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(rules)))
    if not quiet:
        print(f"comparing {', '.join(rules)} on {scenario.name} ({jobs} at a time) in "
              f"{folder}", file=sys.stderr)
    runs = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_run_one, scenario_file, overrides, r, str(folder))
                   for r in rules]
        for f in as_completed(futures):
            run = f.result()
            runs.append(run)
            if not quiet:
                print(f"  {run['rule']}: {run['status']} in {run['wall_time_s']:.1f} s",
                      file=sys.stderr)
    runs.sort(key=lambda r: rules.index(r["rule"]))
    from twin.report.compare import write_comparison  # the report stack: once runs are done

    write_comparison(folder, scenario, runs)
    return folder, runs


def add_compare_parser(sub) -> argparse.ArgumentParser:
    """Add the ``compare`` command to the CLI's subparsers."""
    p = sub.add_parser("compare", help="run a market scenario under several clearing rules")
    p.add_argument("scenario", help="scenario YAML with a market section")
    p.add_argument("--rules", nargs="+", default=list(RULES), metavar="RULE", choices=RULES,
                   help=f"clearing rules to compare (default: all: {' '.join(RULES)})")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE", help="override a field for every run (repeatable)")
    p.add_argument("--jobs", type=int, default=None,
                   help="runs at once, each in its own process (default: the cores)")
    p.add_argument("--out", type=Path, default=None,
                   help="results root folder (default: outputs.dir of the scenario)")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    return p


def cmd_compare(args) -> int:
    """Run ``compare``: every rule, then the comparison; 1 when a run failed."""
    folder, runs = compare(args.scenario, args.rules, args.overrides, args.out, args.jobs,
                           args.quiet)
    failed = [r for r in runs if r["status"] != "completed"]
    for r in failed:
        print(f"error: {r['rule']}: {r['status']}: {r['error']} (partial results in "
              f"{r['run_dir']})", file=sys.stderr)
    if not args.quiet:
        print(f"comparison: {folder / 'comparison.html'}")
    return 1 if failed else 0
