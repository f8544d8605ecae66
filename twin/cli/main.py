"""Command line of Cariflex Twin (``python run.py ...``): the parser and the dispatch.

One module per command group holds each command's options and its run: ``run`` (run,
report), ``scenario`` (validate, schema), ``schedule``, ``clear``, ``compare`` and ``hil``
(emulate, csms, vtn); they import their heavy packages (pandas, pydantic, mosaik ...) only
when their command runs, so that ``--help`` and a quick command start at once.

Exit codes: 0 success, 1 the run failed or was interrupted (partial results kept),
2 bad input (scenario, override or command line), 3 a HIL run completed but a device
failed its validation against ``hil.tolerances`` (one PASS/FAIL line per device on
stdout; results and ``hil/validation.json`` kept). Set ``CARIFLEX_DEBUG=1`` to get the
traceback of an unexpected error. No power values here (sign
convention: positive = consumption, as everywhere in the twin).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

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

from twin.cli import clear, compare, hil, run, scenario, schedule  # noqa: E402
from twin.cli.options import error  # noqa: E402
from twin.provenance import mark_command_start  # noqa: E402

# every command: (add its parser, run it), in the order of --help
COMMANDS = {
    "run": (run.add_run_parser, run.cmd_run),
    "validate": (scenario.add_validate_parser, scenario.cmd_validate),
    "schema": (scenario.add_schema_parser, scenario.cmd_schema),
    "report": (run.add_report_parser, run.cmd_report),
    "schedule": (schedule.add_schedule_parser, schedule.cmd_schedule),
    "clear": (clear.add_clear_parser, clear.cmd_clear),
    "compare": (compare.add_compare_parser, compare.cmd_compare),
    "emulate": (hil.add_emulate_parser, hil.cmd_emulate),
    "csms": (hil.add_csms_parser, hil.cmd_csms),
    "vtn": (hil.add_vtn_parser, hil.cmd_vtn),
}
# options that their protocol modules define (importing websockets, ocpp, openleadr):
# added only to the parser of the command being parsed
LATE_OPTIONS = {"csms": hil.add_csms_options, "vtn": hil.add_vtn_options}

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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; the options in ``LATE_OPTIONS`` only for ``command``."""
    parser = argparse.ArgumentParser(
        prog="run.py", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (add_parser, _) in COMMANDS.items():
        p = add_parser(sub)
        if name == command and name in LATE_OPTIONS:
            LATE_OPTIONS[name](p)
    return parser


def parse_command(argv: list[str]) -> argparse.Namespace:
    """The parsed command line; ``run`` when no command is named (argparse exits on
    bad usage with code 2)."""
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "run")
    return build_parser(argv[0]).parse_args(argv)


def failed(exc: Exception) -> int:
    """The exit code of a command that raised ``exc``: 2 with the problems of an invalid
    scenario, else 1 with the exception on one line (re-raised with ``CARIFLEX_DEBUG``)."""
    # pydantic comes with the scenario errors: imported only once a command has failed
    from twin.scenario.errors import ScenarioError

    if isinstance(exc, ScenarioError):
        return error(str(exc))
    if os.environ.get("CARIFLEX_DEBUG"):
        raise exc
    return error(f"{type(exc).__name__}: {exc}\n(set CARIFLEX_DEBUG=1 for the traceback)", 1)


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """The command line; ``started`` is the command's start (``time.perf_counter()``),
    by default when this module was imported."""
    mark_command_start(COMMAND_T0 if started is None else started)
    try:
        args = parse_command(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return COMMANDS[args.command][1](args)
    except KeyboardInterrupt:
        return error("interrupted", 1)
    except Exception as exc:  # noqa: BLE001 - no traceback for users unless asked
        return failed(exc)
