"""``python run.py schedule REQUEST.json``, run as a user runs it (in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests import REPO

ROOT = REPO
EXAMPLE = "examples/schedule_request.json"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run.py", "schedule", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_schedule_example_prints_flexmeasures_schedules(tmp_path):
    out = tmp_path / "schedule.json"
    proc = _run(EXAMPLE, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    assert json.loads(out.read_text()) == response
    assert set(response["schedules"]) == {"battery-01", "ev-charger-01"}
    for block in response["schedules"].values():
        assert set(block) == {"values", "start", "duration", "unit"}
        assert block["unit"] == "kW" and len(block["values"]) == 64  # PT16H at PT15M
        assert block["duration"] == "PT16H" and block["start"] == "2026-06-01T16:00:00-04:00"
    ev_soc = response["soc"]["ev-charger-01"]["values"]
    assert ev_soc[59] == pytest.approx(60.0, abs=1e-4)  # the target at 07:00
    assert response["breaches"] == []
    assert "total" in proc.stderr and "EUR" in proc.stderr


def test_schedule_flexmeasures_backend_same_cost():
    pytest.importorskip("flexmeasures")
    ours = json.loads(_run(EXAMPLE).stdout)
    theirs = _run(EXAMPLE, "--backend", "flexmeasures")
    assert theirs.returncode == 0, theirs.stderr
    fm = json.loads(theirs.stdout)  # its solver log must not spoil the JSON
    assert fm["costs"]["total_eur"] == pytest.approx(ours["costs"]["total_eur"], rel=1e-6)


@pytest.mark.parametrize(("content", "code", "message"), [
    ("{not json", 2, "is not valid JSON"),
    (json.dumps({"start": "2026-06-01T00:00:00-04:00", "flex-model": [
        {"device": "b", "soc-at-start": "banana", "power-capacity": "5 kW"}],
        "flex-context": {"consumption-price": "0.2 EUR/kWh"}}), 2,
     "flex-model[0].soc-at-start: expected an energy"),
    (json.dumps({"start": "2026-06-01T00:00:00-04:00", "duration": "PT4H", "flex-model": [
        {"device": "ev", "soc-at-start": "0 kWh", "power-capacity": "7 kW",
         "soc-targets": [{"datetime": "2026-06-01T01:00:00-04:00", "value": "50 kWh"}]}],
        "flex-context": {"consumption-price": "0.2 EUR/kWh", "relax-constraints": False}}), 1,
     "soc-targets of ev at 2026-06-01T01:00:00-04:00"),
])
def test_schedule_bad_requests(tmp_path, content, code, message):
    path = tmp_path / "request.json"
    path.write_text(content)
    proc = _run(str(path))
    assert proc.returncode == code
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""
