"""The scenario schema (twin.scenario.schema) and ISO 8601 durations (twin.timeparse)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from tests import REPO
from twin.scenario.loading import load_scenario
from twin.scenario.schema import Grid, Scenario, Tariff, TouPeriod
from twin.scenario.specs import BatteryGroup, BatterySpec
from twin.timeparse import parse_duration_s

ROOT = REPO
BASELINE = ROOT / "scenarios" / "martinique_baseline.yaml"
START = "2026-06-01T00:00:00-04:00"


# ----------------------------------------------------------------------------- parse_duration_s


@pytest.mark.parametrize(
    ("text", "expected_s"),
    [
        ("PT15M", 900),
        ("PT1H", 3600),
        ("P1D", 86400),
        ("P1W", 604800),
        ("PT1H30M", 5400),
        ("P1DT2H3M4S", 93784),
        ("P365D", 31536000),
        ("PT1.0S", 1),
        (" PT15M ", 900),
    ],
)
def test_parse_duration_s_known_values(text, expected_s):
    assert parse_duration_s(text) == expected_s


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1X", "P", "PT", "P1DT", "15M", "", "pt15m"])
def test_parse_duration_s_refuses_bad_forms(text):
    with pytest.raises(ValueError, match="not an ISO 8601 duration") as info:
        parse_duration_s(text)
    assert "no years or months" in str(info.value)


@pytest.mark.parametrize("text", ["P0D", "PT0S", "PT0.5S", "PT1.5S"])
def test_parse_duration_s_refuses_zero_and_fractional_seconds(text):
    with pytest.raises(ValueError, match="positive whole number of seconds"):
        parse_duration_s(text)


def test_parse_duration_s_refuses_non_string():
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        parse_duration_s(900)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- Scenario


def test_scenario_baseline_loads():
    scenario = load_scenario(BASELINE)
    assert scenario.name == "martinique_baseline"
    assert scenario.n_steps == 96
    assert scenario.step_s == 900
    assert scenario.duration_s == 86400
    assert scenario.seed == 42
    assert scenario.start.utcoffset() == dt.timedelta(hours=-4)
    assert scenario.scheduling.evening_start == dt.time(17)
    assert scenario.scheduling.evening_end == dt.time(22)
    assert [p.price_eur_per_kwh for p in scenario.tariff.import_tou] == [
        0.1547, 0.2062, 0.2462, 0.1547,
    ]


def test_scenario_minimal_gets_defaults():
    scenario = Scenario.model_validate({"name": "mini", "start": START})
    assert scenario.n_steps == 96
    assert scenario.grid.n_feeders == 3 and scenario.grid.buses_per_feeder == 8
    assert [len(scenario.assets.resolved(k)) for k in ("pv", "battery", "ev_charger", "ev", "load")] == [
        10, 10, 10, 10, 30,
    ]
    assert scenario.weather.source == "synthetic"


def test_scenario_n_steps_week_hourly():
    scenario = Scenario.model_validate(
        {"name": "w", "start": START, "duration": "P1W", "step": "PT1H"}
    )
    assert scenario.n_steps == 168


def test_scenario_rejects_naive_start():
    with pytest.raises(ValidationError, match="must be timezone-aware"):
        Scenario.model_validate({"name": "n", "start": "2026-06-01T00:00:00"})


def test_scenario_rejects_step_not_dividing_duration():
    with pytest.raises(ValidationError, match=r"whole number of steps \(PT7M\)"):
        Scenario.model_validate({"name": "n", "start": START, "step": "PT7M"})


def test_scenario_rejects_step_longer_than_duration():
    with pytest.raises(ValidationError, match="longer than duration"):
        Scenario.model_validate({"name": "n", "start": START, "duration": "PT1H", "step": "PT2H"})


def test_scenario_rejects_bad_name():
    with pytest.raises(ValidationError):
        Scenario.model_validate({"name": "has space", "start": START})


def test_scenario_json_schema_lists_top_level_fields():
    schema = Scenario.model_json_schema()
    assert schema["title"] == "Cariflex Twin scenario"
    assert {"name", "start", "duration", "step", "assets", "grid", "tariff"} <= set(
        schema["properties"]
    )
    assert set(schema["required"]) == {"name", "start"}


# ----------------------------------------------------------------------------- parts


def test_grid_lv_bus_names_default():
    names = Grid().lv_bus_names()
    assert len(names) == 25
    assert names[:3] == ["lv_busbar", "f1_b1", "f1_b2"]
    assert names[-1] == "f3_b8"


def test_grid_rejects_vkr_not_below_vk():
    with pytest.raises(ValidationError, match="trafo_vkr_percent"):
        Grid(trafo_vk_percent=4.0, trafo_vkr_percent=4.0)


def test_battery_spec_soc_order():
    with pytest.raises(ValidationError, match="soc_min_percent <= soc_initial_percent"):
        BatterySpec(soc_min_percent=60, soc_initial_percent=50)
    assert BatterySpec(soc_min_percent=50, soc_initial_percent=50).soc_initial_percent == 50


def test_tariff_default_covers_day():
    assert len(Tariff().import_tou) == 4


def test_tariff_single_wrapping_period_covers_day():
    period = TouPeriod(start=dt.time(6), end=dt.time(6), price_eur_per_kwh=0.2)
    assert Tariff(import_tou=[period]).import_tou == [period]


def test_tariff_rejects_gap():
    periods = [
        TouPeriod(start=dt.time(0), end=dt.time(12), price_eur_per_kwh=0.1),
        TouPeriod(start=dt.time(13), end=dt.time(0), price_eur_per_kwh=0.2),
    ]
    with pytest.raises(ValidationError, match="12:00 is not covered"):
        Tariff(import_tou=periods)


def test_tariff_rejects_overlap():
    periods = [
        TouPeriod(start=dt.time(0), end=dt.time(13), price_eur_per_kwh=0.1),
        TouPeriod(start=dt.time(12), end=dt.time(0), price_eur_per_kwh=0.2),
    ]
    with pytest.raises(ValidationError, match="12:00 is covered twice"):
        Tariff(import_tou=periods)


def test_battery_group_resolve_items_override_only_given_fields():
    group = BatteryGroup.model_validate({
        "count": 3,
        "defaults": {"capacity_kwh": 80, "p_charge_max_kw": 20},
        "items": [{"capacity_kwh": 40}, {"bus": "f1_b2"}],
    })
    specs = group.resolve()
    assert [s.capacity_kwh for s in specs] == [40, 80, 80]
    assert [s.p_charge_max_kw for s in specs] == [20, 20, 20]
    assert [s.bus for s in specs] == [None, "f1_b2", None]


def test_battery_group_rejects_more_items_than_count():
    with pytest.raises(ValidationError, match="3 items given but count is 2"):
        BatteryGroup.model_validate({"count": 2, "items": [{}, {}, {}]})


def test_grid_unknown_line_type_suggests_known_ones():
    with pytest.raises(ValidationError, match="did you mean 'NAYY 4x150 SE'"):
        Grid(line_std_type="NAYY 4x15 SE")
    assert Grid(line_std_type="NA2XS2Y 1x95 RM/25 12/20 kV").line_std_type.startswith("NA2XS2Y")
