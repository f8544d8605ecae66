"""Every ``python run.py ...`` line in README.md's ```bash blocks is run, so an example
cannot rot.

- Fast, for every command: it parses with the real command line, and the scenario it
  names validates with its ``--set`` overrides (``validate`` in place of ``run``).
- Run fully: ``clear`` and ``schedule`` (built-in backend) in process; ``run`` and
  ``compare`` as a short variant, the README's arguments plus ``--set duration=PT2H``
  (and ``--quiet``, ``--out`` a temporary folder), marked ``slow``; ``schedule
  --backend flexmeasures`` marked ``flexmeasures``.
- Skipped with the reason: ``schedule --backend server`` (a FlexMeasures server, see
  the ``service`` tests), HIL scenario runs (real time with the Mosquitto broker,
  covered by tests/twin/test_hil_*), ``emulate``, ``csms`` and ``vtn`` (servers that
  run until stopped, covered by tests/hil).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests import REPO
from tests.twin.cli.mutations import run_cli
from twin.cli.main import parse_command

ROOT = REPO
SHORT = ["--set", "duration=PT2H"]


def readme_commands() -> list[list[str]]:
    """The arguments of each ``python run.py`` command in README.md's bash blocks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                argv = shlex.split(part, comments=True)
                if argv[:2] == ["python", "run.py"]:
                    out.append(argv[2:])
    return out


COMMANDS = readme_commands()


def _id(argv: list[str]) -> str:
    return " ".join(argv)[:80] or "(default)"


def test_readme_has_the_commands_it_should():
    texts = [" ".join(a) for a in COMMANDS]
    assert len(COMMANDS) >= 15
    assert "--set assets.battery.items[2].soc_initial_percent=90" in texts
    assert any(t.startswith("clear ") for t in texts)
    assert any(t.startswith("schedule ") for t in texts)


def _is_hil(argv: list[str]) -> bool:
    return any("hil_" in a for a in argv)


@pytest.mark.parametrize("argv", COMMANDS, ids=_id)
def test_readme_command_parses_and_its_scenario_validates(argv):
    args = parse_command(argv)
    scenario = getattr(args, "scenario", None)
    if isinstance(scenario, str) and scenario.endswith(".yaml"):
        overrides = getattr(args, "overrides", [])
        code, _, err, _ = run_cli(["validate", scenario,
                                   *[x for o in overrides for x in ("--set", o)]])
        assert code == 0, err


def _kind(argv: list[str]) -> str:
    args = parse_command(argv)
    if args.command == "schedule":
        return f"schedule-{args.backend}"
    if args.command == "run" and _is_hil(argv):
        return "hil-run"
    return args.command


_SKIP = {
    "schedule-server": "needs a FlexMeasures server (the service tests start one)",
    "hil-run": "real-time HIL run with the Mosquitto broker (tests/twin/test_hil_*)",
    "emulate": "serves a device until stopped (tests/hil)",
    "csms": "serves until stopped (tests/hil/ocpp)",
    "vtn": "serves until stopped (tests/hil/openadr)",
}


def _cases():
    for argv in COMMANDS:
        kind = _kind(argv)
        marks = []
        if kind in _SKIP:
            marks.append(pytest.mark.skip(reason=_SKIP[kind]))
        elif kind in ("run", "compare"):
            marks.append(pytest.mark.slow)
        elif kind == "schedule-flexmeasures":
            marks += [pytest.mark.flexmeasures, pytest.mark.slow]
        yield pytest.param(argv, kind, marks=marks, id=_id(argv))


@pytest.mark.parametrize("argv, kind", list(_cases()))
def test_readme_command_runs(argv, kind, tmp_path):
    if kind in ("clear", "schedule-builtin", "schedule-flexmeasures", "validate"):
        if kind == "schedule-flexmeasures":
            pytest.importorskip("flexmeasures")
        code, out, err, _ = run_cli(argv)
        assert code == 0, err
        assert out.strip(), "prints its result"
        return
    extra = [*SHORT, "--quiet", "--out", str(tmp_path)]
    if kind == "compare":
        extra += ["--jobs", "1"]
    proc = subprocess.run([sys.executable, "run.py", *argv, *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr
    written = list(tmp_path.rglob("report.html")) + list(tmp_path.rglob("comparison.html"))
    assert written, "writes its report"
