"""Rebuilding a run's report (``run.py report``): the KPIs of twin.report.records are the
run's own, exactly, and the rebuild imports no simulation stack (checked in
``sys.modules`` of a fresh interpreter, not by timing)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import REPO
from twin.runner import run_scenario
from twin.scenario.loading import load_scenario

PROBE = ("import json, runpy, sys\n"
         "sys.argv = ['run.py', *sys.argv[1:]]\n"
         "try:\n    runpy.run_path('run.py', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)\n")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    scenario = load_scenario("scenarios/martinique_baseline.yaml",
                             ["duration=PT3H", "outputs.report=false"])
    return run_scenario(scenario, quiet=True, root=tmp_path_factory.mktemp("runs")).run_dir


@pytest.mark.slow
def test_rebuilt_kpis_are_the_runs_own_and_need_no_simulation_stack(run_dir):
    recorded = (run_dir / "kpis.json").read_text(encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", PROBE, "report", str(run_dir)], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "PATH": "", "MPLBACKEND": "Agg"})
    assert "wrote" in proc.stdout, proc.stderr
    loaded = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert "matplotlib" in loaded and "pandas" in loaded  # the probe saw the rebuild
    # (mosaik_api_v3 comes with twin.recorder's events_frame, which the HIL section reads)
    assert not loaded & {"mosaik", "pandapower", "lightsim2grid", "mesa", "simpy", "highspy"}
    assert (run_dir / "kpis.json").read_text(encoding="utf-8") == recorded
    assert (run_dir / "report.html").is_file() and (run_dir / "plots" / "soc.png").is_file()
