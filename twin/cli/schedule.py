"""``python run.py schedule REQUEST.json``: schedule storage devices from a FlexMeasures
trigger body and print each device's schedule as FlexMeasures' GET schedule response
(stdout), then one line of costs (stderr). Exit codes: 0 scheduled, 1 infeasible, 2 bad
input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from twin.cli.options import error


def add_schedule_parser(sub) -> argparse.ArgumentParser:
    """Add the ``schedule`` command to the CLI's subparsers."""
    p = sub.add_parser("schedule", help="schedule devices from a FlexMeasures trigger body")
    p.add_argument("request", type=Path, help="JSON file: start, duration, resolution, "
                   "flex-model (list), flex-context")
    p.add_argument("--backend", choices=("builtin", "flexmeasures", "server"),
                   default="builtin", help="builtin (default): HiGHS; flexmeasures: "
                   "FlexMeasures' device_scheduler in process; server: a FlexMeasures "
                   "server (FLEXMEASURES_URL, FLEXMEASURES_EMAIL, FLEXMEASURES_PASSWORD)")
    p.add_argument("--asset", type=int, default=None,
                   help="server backend: the asset to trigger on (else the request's)")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    return p


def costs_line(result, n_steps: int, backend: str) -> str:
    """The costs line: devices, steps, solve time [s], costs [EUR], breach steps."""
    c = result.costs
    return (f"{len(result.names)} device(s), {n_steps} steps, backend {backend} "
            f"({result.solve_s:.3f} s): total {c['total_eur']:.2f} EUR (energy "
            f"{c['energy_eur']:.2f}, breaches {c['breach_eur']:.2f}, peak {c['peak_eur']:.2f}), "
            f"{len(result.breaches)} breach step(s)")


def cmd_schedule(args) -> int:
    """Run ``schedule``: read, parse and solve the request, print the response."""
    # the scheduler (numpy, pandas, HiGHS): only when a request is scheduled
    from agents.scheduling.backends import InfeasibleError, solve, to_response
    from agents.scheduling.flex_model import RequestError, parse_request
    from twin.scenario.reading import InputProblem, read_json_file

    try:
        body = read_json_file(args.request)
    except InputProblem as exc:
        return error(exc.message)
    try:
        request = parse_request(body)
        if args.asset is not None:
            request.asset = args.asset
        result = solve(request, args.backend)
    except RequestError as exc:
        return error(f"{args.request}: {exc}")
    except InfeasibleError as exc:
        return error(f"{args.request}: {exc}", 1)
    text = json.dumps(to_response(result), indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(costs_line(result, request.n_steps, args.backend), file=sys.stderr)
    return 0
