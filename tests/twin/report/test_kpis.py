"""Site KPIs (twin.report.kpis): one definition per KPI, in the README too; ratios and peaks
by their definitions; end-of-run flags."""

import re

import numpy as np
import pandas as pd
import pytest

from tests import REPO
from twin.report.kpi_defs import KPI_DEFS
from twin.report.kpis import end_of_run_flags, energy_ratios
from twin.runner import run_scenario
from twin.scenario.loading import load_scenario

README = REPO / "README.md"


def _readme_kpi_table() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## KPIs\n", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^\| `([a-z0-9_]+)` \| ([^|]+) \|", section, re.M)}


def test_every_kpi_is_in_the_readme_table_with_its_label():
    table = _readme_kpi_table()
    assert set(KPI_DEFS) <= set(table), sorted(set(KPI_DEFS) - set(table))
    for key, d in KPI_DEFS.items():
        assert table[key] == d.label, key


@pytest.mark.parametrize(("pv", "imp", "exp", "consumption", "sufficiency"), [
    (100.0, 50.0, 20.0, 130.0, 80.0 / 130.0),  # 80 kWh of PV used of 130 used on site
    (0.0, 40.0, 0.0, 40.0, 0.0),  # no PV: all imported
    (10.0, 0.0, 30.0, 0.0, 0.0),  # batteries exported more than the PV: nothing local
])
def test_ratios_stay_within_0_and_1(pv, imp, exp, consumption, sufficiency):
    r = energy_ratios(pv, imp, exp)
    assert 0.0 <= r["self_sufficiency_ratio"] <= 1.0
    assert 0.0 <= r["self_consumption_ratio"] <= 1.0
    assert r["self_sufficiency_ratio"] == pytest.approx(sufficiency)


def _powers(battery_kw, import_kw):
    index = pd.date_range("2026-06-01 20:00", periods=len(import_kw), freq="15min",
                          tz="America/Martinique")
    p = pd.DataFrame({"battery": battery_kw, "import": import_kw}, index=index)
    return p, pd.DataFrame(index=index)


def test_a_peak_from_the_last_hours_recharge_is_flagged():
    scenario = load_scenario("scenarios/martinique_baseline.yaml")
    p, ts = _powers([0, 0, 0, 0, 0, 0, 0, 200.0], [80, 120, 90, 60, 50, 40, 40, 250.0])
    flags = end_of_run_flags(scenario, ts, p, {"ev_on_site_at_end": 0, "ev_owed_kwh": 0.0})
    assert [f["flag"] for f in flags] == ["peak_in_last_hour"]
    assert "grid_peak_import_kw" in flags[0]["kpis"]
    assert "21:45" in flags[0]["note"] and "120.0 kW" in flags[0]["note"]
    # the same peak earlier in the run, or without the batteries charging, is no flag
    early, ts = _powers([0] * 8, [80, 250, 90, 60, 50, 40, 40, 30.0])
    assert end_of_run_flags(scenario, ts, early, {"ev_on_site_at_end": 0}) == []
    owed = {"ev_on_site_at_end": 2, "ev_owed_kwh": 12.5}
    flags = end_of_run_flags(scenario, ts, early, owed)
    assert [f["flag"] for f in flags] == ["evs_on_site_at_end"]
    assert "12.5 kWh" in flags[0]["note"] and "ev_owed_kwh" in flags[0]["kpis"]


@pytest.mark.slow
def test_a_short_run_has_only_defined_kpis_and_non_negative_peaks(tmp_path):
    scenario = load_scenario("scenarios/martinique_baseline.yaml",
                             ["duration=PT6H", "outputs.report=false"])
    k = run_scenario(scenario, quiet=True, root=tmp_path).kpis
    numbers = {key for key, v in k.items() if isinstance(v, int | float)}
    assert numbers <= set(KPI_DEFS), sorted(numbers - set(KPI_DEFS))
    assert k["grid_peak_import_kw"] >= 0.0 and k["grid_peak_export_kw"] >= 0.0
    assert 0.0 <= k["self_sufficiency_ratio"] <= 1.0
    # EVs on site at 06:00 still owe energy: owed counts them beside the departures
    assert k["ev_owed_kwh"] >= k["ev_unmet_at_departure_kwh"]
    price = k["service_price_eur_per_kwh"]
    assert k["same_service_cost_eur"] == pytest.approx(
        k["cost_eur"] - price * k["battery_stored_change_kwh"] + price * k["ev_owed_kwh"])
    assert np.isfinite(price) and price > 0
