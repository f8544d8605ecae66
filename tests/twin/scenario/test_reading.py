"""--set overrides on the raw scenario mapping (twin.scenario.reading via loading.apply_overrides)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import REPO
from twin.scenario.errors import ScenarioError
from twin.scenario.loading import apply_overrides, load_scenario

BASELINE = REPO / "scenarios" / "martinique_baseline.yaml"


def test_apply_overrides_nested_path():
    data = {"grid": {"n_feeders": 3}}
    out = apply_overrides(data, ["grid.n_feeders=2", "grid.line_length_m=35.5"])
    assert out is data
    assert data == {"grid": {"n_feeders": 2, "line_length_m": 35.5}}


def test_apply_overrides_creates_missing_mappings():
    data = {}
    apply_overrides(data, ["assets.battery.defaults.capacity_kwh=50"])
    assert data == {"assets": {"battery": {"defaults": {"capacity_kwh": 50}}}}


def test_apply_overrides_list_index_brackets_and_dots():
    data = {"assets": {"ev_charger": {"items": [{}, {"bus": "f1_b1"}]}}}
    apply_overrides(data, ["assets.ev_charger.items[0].p_max_kw=11", "assets.ev_charger.items.1.bus=f2_b2"])
    assert data["assets"]["ev_charger"]["items"] == [{"p_max_kw": 11}, {"bus": "f2_b2"}]


def test_apply_overrides_index_into_list_form():
    data = {"assets": {"battery": [{"capacity_kwh": 1}, {"capacity_kwh": 2}]}}
    apply_overrides(data, ["assets.battery[1].capacity_kwh=5"])
    assert data["assets"]["battery"] == [{"capacity_kwh": 1}, {"capacity_kwh": 5}]


def test_apply_overrides_last_index_replaces_or_appends():
    data = {"xs": [1, 2]}
    apply_overrides(data, ["xs[1]=20", "xs[2]=30"])
    assert data == {"xs": [1, 20, 30]}


def test_apply_overrides_values_parsed_as_yaml():
    data = {}
    apply_overrides(data, [
        "i=3", "f=0.5", "b=false", "s=PT15M", "n=null", "e=",
        "l=[1, 2]", "m={bus: f1_b2}", "q='007'",
        "start=2026-06-01T00:00:00-04:00",
    ])
    assert data["i"] == 3 and isinstance(data["i"], int)
    assert data["f"] == 0.5
    assert data["b"] is False
    assert data["s"] == "PT15M"
    assert data["n"] is None
    assert data["e"] == ""
    assert data["l"] == [1, 2]
    assert data["m"] == {"bus": "f1_b2"}
    assert data["q"] == "007"
    assert data["start"] == dt.datetime(
        2026, 6, 1, tzinfo=dt.timezone(dt.timedelta(hours=-4))
    )


def test_apply_overrides_value_may_contain_equals():
    data = {}
    apply_overrides(data, ["description=a=b"])
    assert data == {"description": "a=b"}


def test_apply_overrides_bool_reaches_scenario():
    scenario = load_scenario(BASELINE, ["scheduling.ev_full_power=false", "grid.n_feeders=2"])
    assert scenario.scheduling.ev_full_power is False
    assert scenario.grid.n_feeders == 2


def test_apply_overrides_malformed():
    with pytest.raises(ScenarioError) as info:
        apply_overrides({}, ["duration"])
    assert info.value.problems == [("--set", "expected PATH=VALUE, got 'duration'")]


def test_apply_overrides_empty_path():
    with pytest.raises(ScenarioError) as info:
        apply_overrides({}, ["=3"])
    assert info.value.problems == [("--set", "empty path in '=3'")]


def test_apply_overrides_index_out_of_range():
    data = {"xs": [{"a": 1}]}
    with pytest.raises(ScenarioError) as info:
        apply_overrides(data, ["xs[3].a=2"])
    assert info.value.problems == [("xs[3].a", "index 3 is out of range (the list has 1 entries)")]
    with pytest.raises(ScenarioError) as info:
        apply_overrides(data, ["xs[5]=2"])
    assert info.value.problems == [("xs[5]", "index 5 is out of range (the list has 1 entries)")]


def test_apply_overrides_key_into_scalar():
    with pytest.raises(ScenarioError) as info:
        apply_overrides({"seed": 3}, ["seed.x=1"])
    assert info.value.problems == [("seed.x", "'x' is not inside a mapping")]


def test_load_scenario_override_unknown_key_reported():
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, ["assets.battery.defaults.capacity_kwhh=5"])
    ((where, message),) = info.value.problems
    assert where == "assets.battery.defaults.capacity_kwhh"
    assert "did you mean 'capacity_kwh'?" in message


def test_apply_overrides_new_list_entry_inside_path():
    data = {"assets": {"battery": {"count": 2}}}
    apply_overrides(data, ["assets.battery.items[0].bus=f1_b1"])
    assert data["assets"]["battery"]["items"] == [{"bus": "f1_b1"}]


def test_apply_overrides_unquoted_time():
    scenario = load_scenario(BASELINE, ["scheduling.evening_start=18:00"])
    assert scenario.scheduling.evening_start == dt.time(18)


