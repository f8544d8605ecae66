"""Start-up of the command line: ``--help``, ``validate``, ``clear`` and ``schedule`` import
only what they use
(checked in ``sys.modules`` of a fresh interpreter, not by timing)."""

from __future__ import annotations

import json
import subprocess
import sys

from agents.market.engine import RULES
from tests import REPO
from twin.cli.options import RULES as CLI_RULES

PROBE = ("import json, runpy, sys\n"
         "sys.argv = ['run.py', *sys.argv[1:]]\n"
         "try:\n    runpy.run_path('run.py', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n")


def _top_modules(*argv: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(REPO), "PATH": ""})
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_help_imports_no_heavy_package():
    loaded = _top_modules("--help")
    assert not loaded & {"pandas", "numpy", "pydantic", "mosaik", "matplotlib"}


def test_clear_imports_no_simulation_stack():
    loaded = _top_modules("clear", "examples/order_book.json", "--rule", "pay_as_clear")
    assert not loaded & {"mosaik", "pandapower", "matplotlib"}


def test_validate_imports_no_simulation_stack():
    loaded = _top_modules("validate")
    assert "pydantic" in loaded  # the probe sees what validate loaded
    assert not loaded & {"mosaik", "pandapower", "lightsim2grid", "matplotlib", "pvlib",
                         "ocpp", "openleadr", "pymodbus", "paho"}


def test_schedule_imports_no_scenario_or_simulation_stack():
    loaded = _top_modules("schedule", "examples/schedule_request.json")
    assert "highspy" in loaded
    assert not loaded & {"mosaik", "pandapower", "matplotlib", "pydantic", "pvlib"}


def test_cli_rules_are_the_engine_rules():
    assert CLI_RULES == RULES
