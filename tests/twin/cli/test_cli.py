"""The command line, run as a user runs it: ``python run.py ...`` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests import REPO

ROOT = REPO
BASELINE = "scenarios/martinique_baseline.yaml"


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout,
    )


def _write_bad_scenario(tmp_path: Path) -> Path:
    raw = yaml.safe_load((ROOT / BASELINE).read_text(encoding="utf-8"))
    raw["assets"]["battery"] = [{}, {}, {}, {"capacity_kwh": -5}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_main_help_lists_commands():
    proc = _run("--help")
    assert proc.returncode == 0
    for command in ("run [SCENARIO]", "validate [SCENARIO]", "schema", "report RUN_DIR"):
        assert command in proc.stdout
    for option in ("--set PATH=VALUE", "--out DIR", "--quiet"):  # the run options, top level
        assert f"\n  {option}" in proc.stdout
    assert "Warning" not in proc.stderr and proc.stderr == ""


def test_validate_without_scenario_validates_the_default():
    proc = _run("validate")
    assert proc.returncode == 0, proc.stderr
    assert "valid — martinique_baseline" in proc.stdout
    assert "Warning" not in proc.stderr


def test_cryptography_deprecation_warnings_are_filtered():
    """The filter the entry installs: cryptography's notice is dropped, others stay."""
    import warnings

    from cryptography.utils import CryptographyDeprecationWarning

    import twin.cli.main  # noqa: F401 - installs the filter on import

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        twin.cli.main.quiet_third_party_warnings()
        warnings.warn("TripleDES has been moved", CryptographyDeprecationWarning, stacklevel=1)
        warnings.warn("the twin's own", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["the twin's own"]


def test_validate_baseline_ok():
    proc = _run("validate", BASELINE)
    assert proc.returncode == 0, proc.stderr
    assert "valid — martinique_baseline, 96 steps of PT15M, seed 42" in proc.stdout
    assert "ev_charger  10" in proc.stdout and "lv_busbar" in proc.stdout


def test_validate_bad_scenario_exit_2(tmp_path):
    path = _write_bad_scenario(tmp_path)
    proc = _run("validate", str(path))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: scenario {path} is invalid:")
    assert proc.stderr.splitlines()[0].endswith(
        " invalid: assets.battery[3].capacity_kwh: must be > 0, got -5")  # one problem, one line
    assert "Traceback" not in proc.stderr + proc.stdout


def test_validate_yaml_syntax_error_and_missing_file(tmp_path):
    path = tmp_path / "syntax.yaml"
    path.write_text("name: x\nseed: 1\nstep: PT15M: oops\n", encoding="utf-8")
    proc = _run("validate", str(path))
    assert proc.returncode == 2
    assert "YAML syntax error at line 3, column 12" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout

    missing = tmp_path / "missing.yaml"
    proc = _run("validate", str(missing))
    assert proc.returncode == 2
    assert f"file not found: {missing}" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_run_unknown_override_exit_2(tmp_path):
    proc = _run(BASELINE, "--quiet", "--out", str(tmp_path),
                "--set", "assets.battery.defaults.capacity_kwhh=5")
    assert proc.returncode == 2
    assert "assets.battery.defaults.capacity_kwhh: unknown key 'capacity_kwhh'; " \
           "did you mean 'capacity_kwh'?" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written for a bad scenario


def test_schema_writes_json(tmp_path):
    out = tmp_path / "s.json"
    proc = _run("schema", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(out.read_text(encoding="utf-8"))
    assert "assets" in schema["properties"]
    assert {"name", "start"} <= set(schema["required"])


def test_report_not_a_run_dir(tmp_path):
    proc = _run("report", str(tmp_path))
    assert proc.returncode == 2
    assert "is not a run folder (no scenario.yaml)" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_run_short_then_report(tmp_path):
    proc = _run(BASELINE, "--quiet", "--out", str(tmp_path), "--set", "duration=PT2H")
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "martinique_baseline").iterdir()
    for name in ("kpis.json", "report.html", "provenance.json", "scenario.yaml"):
        assert (run_dir / name).is_file(), name
    assert sorted((run_dir / "timeseries").glob("part-*.parquet"))
    provenance = json.loads((run_dir / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["status"] == "completed"
    assert provenance["overrides"] == ["duration=PT2H"]
    kpis = json.loads((run_dir / "kpis.json").read_text(encoding="utf-8"))
    assert isinstance(kpis, dict) and "grid_import_kwh" in kpis

    (run_dir / "kpis.json").unlink()
    proc = _run("report", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert "(8 steps)" in proc.stdout
    assert (run_dir / "kpis.json").is_file()
    assert "Against the rule-based baseline" not in (run_dir / "report.html").read_text()

    # a strategy run's folder keeps its baseline's KPIs: the rebuilt report compares again
    baseline = {**kpis, "cost_eur": kpis["cost_eur"] + 5.0}
    (run_dir / "baseline_kpis.json").write_text(json.dumps(baseline), encoding="utf-8")
    proc = _run("report", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Against the rule-based baseline" in page and "5.00 EUR less" in page


def test_run_bad_weather_csv_is_a_scenario_error(tmp_path):
    csv = tmp_path / "weather.csv"
    csv.write_text("timestamp,ghi\n2026-06-01T00:00:00Z,0\n", encoding="utf-8")
    for path, expected in [(tmp_path / "missing.csv", "weather.path: file not found"),
                           (csv, "missing required column 'ghi_w_per_m2'")]:
        proc = _run(BASELINE, "--quiet", "--out", str(tmp_path),
                    "--set", f"weather={{source: csv, path: {path}}}")
        assert proc.returncode == 2
        assert expected in proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
    assert not any(tmp_path.glob("martinique_baseline/*")), "no run folder for bad input"


BAD_INPUTS = [  # (override, path in the message, part of the message)
    ("assets.battery.defaults.capacity_kwh=-5", "assets.battery.defaults.capacity_kwh",
     "must be > 0, got -5"),
    ("grid.n_feedr=2", "grid.n_feedr", "did you mean 'n_feeders'?"),
    ("duration=P1X", "duration", "not an ISO 8601 duration: 'P1X'"),
    ("assets.pv.items[0].bus=f7_b1", "assets.pv.items[0].bus", "no bus 'f7_b1' on this feeder"),
    ("start=2026-06-01T00:00:00", "start", "must be timezone-aware"),
]


@pytest.mark.parametrize(("override", "path", "message"), BAD_INPUTS)
def test_run_bad_input_exit_2_no_traceback(tmp_path, override, path, message):
    proc = _run(BASELINE, "--quiet", "--out", str(tmp_path), "--set", override)
    assert proc.returncode == 2
    assert f"invalid: {path}: " in proc.stderr and message in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not any(tmp_path.iterdir())  # nothing written for a run that never started
