"""The results store survives a killed or interrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import REPO
from twin.results import read_timeseries

ROOT = REPO
pytestmark = pytest.mark.slow


def _start_long_run(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "run.py", "--quiet", "--out", str(out), "--set", "duration=P60D",
         "--set", "outputs.flush_every_steps=48",
         # parts by step count only: a slow start must not cut a short part by wall time
         "--set", "outputs.flush_interval_s=3600"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_parts(out: Path, n: int, proc: subprocess.Popen, timeout_s: float = 120) -> Path:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        parts = sorted(out.glob("*/*/timeseries/part-*.parquet"))
        if len(parts) >= n:
            return parts[0].parent.parent
        if proc.poll() is not None:
            pytest.fail(f"run ended early: {proc.stderr.read()}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail("no parts written in time")


def test_killed_run_leaves_readable_parts(tmp_path):
    proc = _start_long_run(tmp_path)
    run_dir = _wait_for_parts(tmp_path, 2, proc)
    proc.kill()  # SIGKILL: no chance to clean up
    proc.wait(timeout=30)
    ts = read_timeseries(run_dir)
    assert len(ts) >= 96 and len(ts) % 48 == 0
    assert ts["t_s"].is_monotonic_increasing
    rebuilt = subprocess.run([sys.executable, "run.py", "report", str(run_dir)], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (run_dir / "report.html").is_file()
    assert json.loads((run_dir / "kpis.json").read_text())["steps"] == len(ts)


def test_interrupted_run_reports_status_and_keeps_results(tmp_path):
    proc = _start_long_run(tmp_path)
    run_dir = _wait_for_parts(tmp_path, 1, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "interrupted" in err and "Traceback" not in err
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert prov["status"] == "interrupted"
    assert (run_dir / "report.html").is_file()
    assert prov["steps_recorded"] == len(read_timeseries(run_dir)) > 0
