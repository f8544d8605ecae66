"""What the command modules share: the default scenario, the scenario options, the
clearing rules' names and the error line. Standard library only (read at ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = ROOT / "scenarios" / "martinique_baseline.yaml"
# agents.market.engine.RULES, named here so that --help does not import numpy with the
# engine (tests/twin/cli/test_startup.py checks that the two are the same)
RULES = ("pay_as_offer", "pay_as_bid", "pay_as_clear", "pda_uniform")


def scenario_args(p: argparse.ArgumentParser, optional: bool) -> None:
    """Add the scenario file (optional: the baseline by default) and ``--set``."""
    p.add_argument("scenario", nargs="?" if optional else None,
                   default=str(DEFAULT_SCENARIO) if optional else None,
                   help="scenario YAML file" + (" (default: the baseline)" if optional else ""))
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="PATH=VALUE",
                   help="override a field, e.g. --set duration=P7D "
                        "--set assets.battery.defaults.capacity_kwh=50 (repeatable)")


def error(message: str, code: int = 2) -> int:
    """Print ``error: message`` on stderr; returns the exit code ``code``."""
    print(f"error: {message}", file=sys.stderr)
    return code
