"""A run that fails half-way keeps what it recorded: KPIs, report and provenance are
built from it and say so."""

from __future__ import annotations

import json

import pytest

from simulators.battery.part import BatteryPart
from twin.results import read_parts, read_timeseries
from twin.runner import run_scenario
from twin.scenario.loading import load_scenario

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("scenario_file", ["scenarios/martinique_baseline.yaml",
                                           "scenarios/martinique_p2p.yaml"])
def test_failed_run_keeps_its_results(scenario_file, tmp_path, monkeypatch):
    original = BatteryPart.advance
    steps = []

    def broken(self, p_set_kw):
        steps.append(1)
        if len(steps) > 24:  # six hours of 15-min steps went well
            raise RuntimeError("battery inverter lost")
        return original(self, p_set_kw)

    monkeypatch.setattr(BatteryPart, "advance", broken)
    scenario = load_scenario(scenario_file, ["outputs.flush_every_steps=4"])
    result = run_scenario(scenario, quiet=True, root=tmp_path)
    assert result.status == "failed"
    assert "battery inverter lost" in result.error
    ts = read_timeseries(result.run_dir)
    assert 20 <= len(ts) <= 24  # six hours of 15-min steps, recorded before the failure
    prov = json.loads((result.run_dir / "provenance.json").read_text())
    assert prov["status"] == "failed" and prov["steps_recorded"] == len(ts)
    assert json.loads((result.run_dir / "kpis.json").read_text())["pv_production_kwh"] >= 0
    assert "Run status: <b>failed</b>" in (result.run_dir / "report.html").read_text()
    if scenario.market is not None:
        assert len(read_parts(result.run_dir / "market" / "trades")) > 0
        assert (result.run_dir / "gsy" / "kpi.json").is_file()
