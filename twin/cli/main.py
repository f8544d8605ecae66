"""Command line of Cariflex Twin (``python run.py ...``).

Exit codes: 0 success, 1 the run failed or was interrupted (partial results kept),
2 bad input (scenario, override or command line), 3 a HIL run completed but a device
failed its validation against ``hil.tolerances`` (one PASS/FAIL line per device on
stdout; results and ``hil/validation.json`` kept). Set ``CARIFLEX_DEBUG=1`` to get the
traceback of an unexpected error. No power values here (sign
convention: positive = consumption, as everywhere in the twin).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

COMMAND_T0 = time.perf_counter()


def quiet_third_party_warnings() -> None:
    """Keep third-party deprecation notices off the console: only cryptography's
    ``CryptographyDeprecationWarning`` (raised on import by the TLS stack of the
    protocol libraries), nothing of the twin's own."""
    try:
        from cryptography.utils import CryptographyDeprecationWarning
    except ImportError:  # not installed: nothing to filter
        return
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)


quiet_third_party_warnings()  # before the imports that pull in the TLS stack

from twin.cli import clear as clear_cmd  # noqa: E402
from twin.cli import compare  # noqa: E402
from twin.cli import hil as hil_cli  # noqa: E402
from twin.provenance import mark_command_start  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = ROOT / "scenarios" / "martinique_baseline.yaml"
SCHEMA_PATH = ROOT / "scenarios" / "scenario.schema.json"
COMMANDS = ("run", "validate", "schema", "report", "schedule", "clear", "compare", "emulate",
            "csms", "vtn")

DESCRIPTION = """\
Cariflex Twin: co-simulation of the Cariflex site on a Martinique LV feeder
(mosaik + pandapower/lightsim2grid + pvlib + SimPy EV fleet).

run options (python run.py [run] [SCENARIO] [options]):
  --set PATH=VALUE      override a scenario field, the value read as YAML (repeatable):
                        --set duration=PT6H --set assets.battery.items[2].soc_initial_percent=90
                        (relative paths given here are relative to the working directory)
  --out DIR             results root folder (default: outputs.dir of the scenario)
  --quiet               no progress bar, print only errors

commands:
  run [SCENARIO]        run a scenario (default command; default scenario:
                        scenarios/martinique_baseline.yaml) and write
                        results/<name>/<timestamp>/ with Parquet time series,
                        kpis.json and report.html
  validate [SCENARIO]   check a scenario (default: the baseline) and print its assets
  schema                write the scenario JSON Schema (scenarios/scenario.schema.json)
                        and the field reference beside it (scenarios/REFERENCE.md)
  report RUN_DIR        rebuild kpis.json and report.html of a run folder
                        (also of a failed or killed run, from what it wrote)
  schedule REQUEST.json schedule storage devices from a FlexMeasures trigger body
                        (flex-model + flex-context) and print each device's
                        schedule as FlexMeasures' GET schedule response, plus costs
  clear BOOK.json       clear an order book with a market rule (--rule pay_as_bid,
                        pay_as_clear, pay_as_offer or pda_uniform) and print the trades
  compare SCENARIO      run a market scenario once per clearing rule (--rules ...), in
                        parallel processes, and write comparison.html side by side
  emulate SCENARIO      serve a scenario asset as a real device: --asset ID and
                        --modbus HOST:PORT (SunSpec PV inverter or battery) or
                        --ocpp URL (OCPP 2.0.1 charging station with its EV)
  csms                  run the twin's OCPP 2.0.1 CSMS with its smart-charging policy
  vtn                   run an OpenADR 2.0b VTN sending events from a YAML file

examples:
  python run.py
  python run.py scenarios/martinique_baseline.yaml --set duration=P7D --set seed=3
  python run.py validate my.yaml --set assets.battery.count=4
  python run.py schedule examples/schedule_request.json --backend flexmeasures
  python run.py clear examples/order_book.json --rule pay_as_clear
  python run.py scenarios/martinique_p2p.yaml
  python run.py compare scenarios/martinique_p2p.yaml --rules pay_as_bid pay_as_clear
  python run.py scenarios/hil_loopback.yaml
  python run.py emulate scenarios/hil_loopback.yaml --asset bat_hil --modbus 127.0.0.1:15021

exit codes: 0 ok, 1 run failed or interrupted, 2 bad input, 3 HIL validation failed
(a HIL run prints one PASS/FAIL line per device against hil.tolerances)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def scenario_args(p: argparse.ArgumentParser, optional: bool) -> None:
        p.add_argument("scenario", nargs="?" if optional else None,
                       default=str(DEFAULT_SCENARIO) if optional else None,
                       help="scenario YAML file" + (" (default: the baseline)" if optional else ""))
        p.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="PATH=VALUE",
                       help="override a field, e.g. --set duration=P7D "
                            "--set assets.battery.defaults.capacity_kwh=50 (repeatable)")

    run = sub.add_parser("run", help="run a scenario (default)",
                         formatter_class=argparse.RawTextHelpFormatter)
    scenario_args(run, optional=True)
    run.add_argument("--quiet", action="store_true", help="no progress bar, print only errors")
    run.add_argument("--out", type=Path, default=None,
                     help="results root folder (default: outputs.dir of the scenario)")
    val = sub.add_parser("validate", help="check a scenario (default: the baseline)")
    scenario_args(val, optional=True)
    sch = sub.add_parser("schema", help="write the scenario JSON Schema")
    sch.add_argument("--out", type=Path, default=SCHEMA_PATH, help=f"default: {SCHEMA_PATH}")
    rep = sub.add_parser("report", help="rebuild KPIs and report of a run folder")
    rep.add_argument("run_dir", type=Path)
    sched = sub.add_parser("schedule", help="schedule devices from a FlexMeasures trigger body")
    sched.add_argument("request", type=Path, help="JSON file: start, duration, resolution, "
                       "flex-model (list), flex-context")
    sched.add_argument("--backend", choices=("builtin", "flexmeasures", "server"),
                       default="builtin", help="builtin (default): HiGHS; flexmeasures: "
                       "FlexMeasures' device_scheduler in process; server: a FlexMeasures "
                       "server (FLEXMEASURES_URL, FLEXMEASURES_EMAIL, FLEXMEASURES_PASSWORD)")
    sched.add_argument("--asset", type=int, default=None,
                       help="server backend: the asset to trigger on (else the request's)")
    sched.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    clear_cmd.add_parser(sub)
    compare.add_parser(sub)
    hil_cli.add_parsers(sub, scenario_args)
    return parser


def _error(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def cmd_run(args) -> int:
    from twin.runner import run_scenario
    from twin.scenario.loading import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    if not args.quiet:
        print(f"running {scenario.name}: {scenario.n_steps} steps of {scenario.step} "
              f"from {scenario.start.isoformat()}", file=sys.stderr)
    result = run_scenario(scenario, scenario_file=args.scenario, overrides=args.overrides,
                          quiet=args.quiet, root=args.out)
    if result.status != "completed":
        return _error(f"run {result.status}: {result.error}\npartial results in {result.run_dir}", 1)
    k = result.kpis
    if k.get("power_flow_nonconverged_steps"):
        print(f"warning: {k['power_flow_nonconverged_steps']} power flow(s) did not converge "
              "(see report)", file=sys.stderr)
    if k.get("limit_episodes"):
        from twin.report.limits import warning_line

        print(warning_line(k["limit_episodes"]), file=sys.stderr)
    if not args.quiet:
        print(f"done in {result.run_dir}\n"
              f"  PV {k['pv_production_kwh']:.0f} kWh, import {k['grid_import_kwh']:.0f} kWh, "
              f"export {k['grid_export_kwh']:.0f} kWh, voltage {k['vm_min_pu']:.3f}-"
              f"{k['vm_max_pu']:.3f} pu, cost {k['cost_eur']:.2f} EUR\n"
              + (f"  market: {k['market_p2p_traded_kwh']:.0f} kWh peer to peer at "
                 f"{k['market_p2p_rate_mean_ct_per_kwh']:.1f} ct/kWh on average, savings "
                 f"{k['market_savings_eur']:.2f} EUR against the utility only (stored-energy "
                 f"neutral); {k.get('market_self_supplied_kwh', 0.0):.0f} kWh own "
                 "consumption behind the meters\n"
                 if "market_p2p_traded_kwh" in k else "") +
              f"  report: {result.run_dir / 'report.html'}")
    if scenario.is_hil:  # 3 when a device failed its validation
        from twin.report.hil.section import print_verdict

        return print_verdict(result.run_dir, args.quiet)
    return 0


def cmd_validate(args) -> int:
    from twin.scenario.assets import resolve_assets
    from twin.scenario.loading import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    assets = resolve_assets(scenario)
    print(f"{args.scenario}: valid — {scenario.name}, {scenario.n_steps} steps of "
          f"{scenario.step}, seed {scenario.seed}")
    for kind, items in assets.items():
        where = sorted({a.bus for a in items if a.bus})
        print(f"  {kind:<10} {len(items):>3}" + (f"  on {', '.join(where)}" if where else ""))
    if scenario.market is not None:
        from collections import Counter

        from twin.scenario.participants import resolve_participants

        people = resolve_participants(scenario)
        types = Counter(p.type for p in people)
        mix = Counter(p.strategy for p in people)
        print(f"  market: {scenario.market.rule}, {len(people)} participants ("
              + ", ".join(f"{n} {t}" for t, n in types.items()) + "); strategies "
              + ", ".join(f"{n} {s}" for s, n in mix.items()))
    if scenario.is_hil:
        from twin.cli.hil import describe_hil

        for line in describe_hil(scenario, assets):
            print(f"  {line}")
    return 0


def cmd_schema(args) -> int:
    from twin.scenario.reference import reference_markdown
    from twin.scenario.schema import Scenario

    schema = Scenario.model_json_schema()
    args.out.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    reference = args.out.with_name("REFERENCE.md")
    reference.write_text(reference_markdown(), encoding="utf-8")
    print(f"wrote {args.out} and {reference}")
    return 0


def cmd_report(args) -> int:
    from twin.report.html import write_report
    from twin.results import read_events, read_inputs, read_timeseries, write_json
    from twin.runner import run_kpis
    from twin.scenario.loading import load_scenario

    run_dir = args.run_dir
    if not (run_dir / "scenario.yaml").is_file():
        return _error(f"{run_dir} is not a run folder (no scenario.yaml)")
    scenario = load_scenario(run_dir / "scenario.yaml")
    ts, events = read_timeseries(run_dir), read_events(run_dir)
    if not len(ts):
        return _error(f"{run_dir} holds no recorded steps", 1)
    prov_path = run_dir / "provenance.json"
    prov = json.loads(prov_path.read_text()) if prov_path.is_file() else {}
    base_path = run_dir / "baseline_kpis.json"  # a strategy run's rule-based baseline
    baseline = json.loads(base_path.read_text()) if base_path.is_file() else None
    kpis, market, hil = run_kpis(scenario, run_dir, ts, events)
    write_json(run_dir / "kpis.json", kpis)
    path = write_report(run_dir, scenario, ts, events, kpis, prov, read_inputs(run_dir),
                        baseline, market=market, hil=hil)
    print(f"wrote {path} ({len(ts)} steps)")
    if scenario.is_hil:  # the rebuilt validation gates as the run's own: 3 on a FAIL
        from twin.report.hil.section import print_verdict

        return print_verdict(run_dir)
    return 0


def cmd_schedule(args) -> int:
    from agents.scheduling.backends import InfeasibleError, solve, to_response
    from agents.scheduling.flex_model import RequestError, parse_request
    from twin.scenario.reading import InputProblem, read_json_file

    try:
        body = read_json_file(args.request)
    except InputProblem as exc:
        return _error(exc.message)
    try:
        request = parse_request(body)
        if args.asset is not None:
            request.asset = args.asset
        result = solve(request, args.backend)
    except RequestError as exc:
        return _error(f"{args.request}: {exc}")
    except InfeasibleError as exc:
        return _error(f"{args.request}: {exc}", 1)
    response = to_response(result)
    text = json.dumps(response, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    c = result.costs
    print(f"{len(result.names)} device(s), {request.n_steps} steps, backend {args.backend} "
          f"({result.solve_s:.3f} s): total {c['total_eur']:.2f} EUR (energy "
          f"{c['energy_eur']:.2f}, breaches {c['breach_eur']:.2f}, peak {c['peak_eur']:.2f}), "
          f"{len(result.breaches)} breach step(s)", file=sys.stderr)
    return 0


def parse_command(argv: list[str]) -> argparse.Namespace:
    """The parsed command line; ``run`` when no command is named (argparse exits on
    bad usage with code 2)."""
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")
    return _parser().parse_args(argv)


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """The command line; ``started`` is the command's start (``time.perf_counter()``),
    by default when this module was imported."""
    mark_command_start(COMMAND_T0 if started is None else started)
    try:
        args = parse_command(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    from twin.scenario.errors import ScenarioError

    try:
        return {"run": cmd_run, "validate": cmd_validate, "schema": cmd_schema,
                "report": cmd_report, "schedule": cmd_schedule,
                "clear": clear_cmd.run, "compare": compare.run, "emulate": hil_cli.run_emulate,
                "csms": hil_cli.run_csms, "vtn": hil_cli.run_vtn}[args.command](args)
    except ScenarioError as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return _error("interrupted", 1)
    except Exception as exc:  # noqa: BLE001 - no traceback for users unless asked
        if os.environ.get("CARIFLEX_DEBUG"):
            raise
        return _error(f"{type(exc).__name__}: {exc}\n(set CARIFLEX_DEBUG=1 for the traceback)", 1)
