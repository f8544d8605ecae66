"""Scenario loading: error messages and input traps (twin.scenario.loading)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests import REPO
from twin.scenario.errors import ScenarioError
from twin.scenario.loading import apply_overrides, load_scenario, validate

ROOT = REPO
BASELINE = ROOT / "scenarios" / "martinique_baseline.yaml"


def _problems(data) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        validate(data)
    return info.value.problems


def _only_problem(data) -> tuple[str, str]:
    problems = _problems(data)
    assert len(problems) == 1, problems
    return problems[0]


# ----------------------------------------------------------------------------- load_scenario


def test_load_scenario_baseline():
    scenario = load_scenario(BASELINE)
    assert scenario.n_steps == 96
    assert scenario.assets.ev_charger.items[7].location == "workplace"


def test_load_scenario_with_overrides():
    scenario = load_scenario(BASELINE, ["duration=PT2H", "seed=3"])
    assert scenario.n_steps == 8
    assert scenario.seed == 3


def test_load_scenario_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == [("", f"file not found: {path}")]


def test_load_scenario_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nseed: 1\nstep: PT15M: oops\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    ((where, message),) = info.value.problems
    assert where == ""
    assert message.startswith("YAML syntax error at line 3, column 12:")


def test_load_scenario_top_level_not_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems == [("", "top level must be a mapping, got [1, 2]")]


def test_load_scenario_empty_file_reports_required_fields(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert sorted(info.value.problems) == [("name", "is required"), ("start", "is required")]


def test_load_scenario_csv_weather_path_relative_to_file(tmp_path):
    raw = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    raw["weather"] = {"source": "csv", "path": "data/weather.csv"}
    (tmp_path / "data").mkdir()
    rows = [f"2026-06-01T{h:02d}:00:00-04:00,{max(0, 900 - 80 * abs(h - 12))},27"
            for h in range(24)]  # with the rows before and after: covers the whole day
    (tmp_path / "data" / "weather.csv").write_text(
        "timestamp,ghi_w_per_m2,temp_air_c\n2026-05-31T23:00:00-04:00,0,26\n"
        + "\n".join(rows) + "\n2026-06-02T01:00:00-04:00,0,26\n", encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.weather.path == (tmp_path / "data" / "weather.csv").resolve()

    (tmp_path / "data" / "weather.csv").unlink()
    with pytest.raises(ScenarioError, match="weather.path"):
        load_scenario(path)


# ----------------------------------------------------------------------------- error messages


def test_validate_negative_capacity_list_form(raw):
    raw["assets"]["battery"] = [{}, {}, {}, {"capacity_kwh": -5}]
    assert _only_problem(raw) == ("assets.battery[3].capacity_kwh", "must be > 0, got -5")
    with pytest.raises(ScenarioError) as info:
        validate(raw)
    # one problem: one line
    assert str(info.value) == (
        "scenario scenario is invalid: assets.battery[3].capacity_kwh: must be > 0, got -5")
    raw["assets"]["battery"][2]["capacity_kwh"] = 0
    with pytest.raises(ScenarioError) as info:
        validate(raw)
    assert "  assets.battery[3].capacity_kwh: must be > 0, got -5" in str(info.value).splitlines()


def test_validate_unknown_key_suggests_closest(raw):
    raw["assets"]["battery"]["defaults"]["capacity_kwhh"] = 5
    where, message = _only_problem(raw)
    assert where == "assets.battery.defaults.capacity_kwhh"
    assert message.startswith("unknown key 'capacity_kwhh'; did you mean 'capacity_kwh'?")
    assert "soc_initial_percent" in message  # the allowed names are listed


def test_validate_unknown_key_in_list_item(raw):
    raw["assets"]["pv"] = [{"p_dc_kw": 5}]
    where, message = _only_problem(raw)
    assert where == "assets.pv[0].p_dc_kw"
    assert "did you mean 'p_dc_kwp'?" in message


def test_validate_unknown_top_level_key(raw):
    raw["foo"] = 1
    where, message = _only_problem(raw)
    assert where == "foo"
    assert message.startswith("unknown key 'foo' (allowed: name, description, start,")
    assert "did you mean" not in message


def test_validate_misspelt_top_level_key(raw):
    raw["durration"] = "P1D"
    assert "did you mean 'duration'?" in _only_problem(raw)[1]


@pytest.mark.parametrize("value", ["P1X", "P1M"])
def test_validate_bad_duration(raw, value):
    raw["duration"] = value
    where, message = _only_problem(raw)
    assert where == "duration"
    assert f"not an ISO 8601 duration: {value!r}" in message
    assert "no years or months" in message


def test_validate_step_not_dividing_duration(raw):
    raw["step"] = "PT7M"
    assert _only_problem(raw) == ("step", "duration (P1D) must be a whole number of steps (PT7M)")


def test_validate_unknown_bus_suggests_closest(raw):
    raw["assets"]["pv"]["items"] = [{"bus": "f2_b9"}]
    where, message = _only_problem(raw)
    assert where == "assets.pv.items[0].bus"
    assert message == (
        "no bus 'f2_b9' on this feeder; did you mean 'f2_b8'? "
        "buses are lv_busbar and f1_b1 .. f3_b8"
    )


def test_validate_unknown_bus_list_form(raw):
    raw["assets"]["battery"] = [{"bus": "f1_b1"}, {"bus": "busbar"}]
    where, message = _only_problem(raw)
    assert where == "assets.battery[1].bus"
    assert "did you mean 'lv_busbar'?" in message


def test_validate_naive_start(raw):
    raw["start"] = "2026-06-01T00:00:00"
    where, message = _only_problem(raw)
    assert where == "start"
    assert message.startswith("must be timezone-aware, got 2026-06-01T00:00:00 without offset")


def test_validate_unknown_weather_source(raw):
    raw["weather"] = {"source": "meteo"}
    assert _only_problem(raw) == ("weather", "must be one of 'synthetic', 'csv', got 'meteo'")


def test_validate_weather_field_of_wrong_source(raw):
    raw["weather"]["path"] = "x.csv"
    where, message = _only_problem(raw)
    assert where == "weather.path"
    assert message.startswith("unknown key 'path'")


def test_validate_tariff_gap(raw):
    raw["tariff"]["import_tou"] = raw["tariff"]["import_tou"][:3]
    assert _only_problem(raw) == (
        "tariff.import_tou",
        "periods must cover each minute of the day exactly once; 22:00 is not covered",
    )


def test_validate_tariff_overlap(raw):
    raw["tariff"]["import_tou"][1]["end"] = "19:00"
    where, message = _only_problem(raw)
    assert where == "tariff.import_tou"
    assert message.endswith("18:00 is covered twice")


def test_validate_soc_min_above_initial(raw):
    raw["assets"]["battery"]["defaults"]["soc_min_percent"] = 60
    assert _only_problem(raw) == (
        "assets.battery.defaults",
        "need soc_min_percent <= soc_initial_percent <= soc_max_percent, got 60.0 / 50.0 / 95.0",
    )


def test_validate_duplicate_ids(raw):
    raw["assets"]["battery"]["items"] = [{"id": "x"}, {"id": "x"}]
    assert _only_problem(raw) == (
        "assets.battery.items[1].id",
        "duplicate id 'x' (also assets.battery.items[0])",
    )


def test_validate_duplicate_ids_across_kinds(raw):
    raw["assets"]["pv"]["items"] = [{"id": "battery_00"}]
    assert _only_problem(raw) == (
        "assets.battery.items[0].id",
        "duplicate id 'battery_00' (also assets.pv.items[0])",
    )


def test_validate_several_problems_together(raw):
    raw["assets"]["battery"] = [{"capacity_kwh": -5}]
    raw["seed"] = -1
    raw["duration"] = "P1M"
    raw["grid"]["n_feederz"] = 2
    problems = dict(_problems(raw))
    assert problems["assets.battery[0].capacity_kwh"] == "must be > 0, got -5"
    assert problems["seed"] == "must be >= 0, got -1"
    assert "no years or months" in problems["duration"]
    assert "did you mean 'n_feeders'?" in problems["grid.n_feederz"]
    assert len(problems) == 4


def test_validate_too_many_items(raw):
    raw["assets"]["battery"]["items"] = [{}] * 11
    assert _only_problem(raw) == (
        "assets.battery",
        "11 items given but count is 10: raise count or remove items",
    )


def test_validate_literal_choice(raw):
    raw["assets"]["load"]["defaults"]["profile"] = "industrial"
    assert _only_problem(raw) == (
        "assets.load.defaults.profile",
        "must be one of 'residential' or 'commercial', got 'industrial'",
    )


def test_validate_item_checked_against_group_defaults(raw):
    raw["assets"]["battery"]["defaults"]["soc_min_percent"] = 0
    raw["assets"]["battery"]["items"] = [{"soc_initial_percent": 2}]
    assert validate(raw).assets.resolved("battery")[0].soc_initial_percent == 2


def test_validate_merged_item_error_is_scenario_error(raw):
    raw["assets"]["battery"]["defaults"].update(soc_min_percent=60, soc_initial_percent=70)
    raw["assets"]["battery"]["items"] = [{"soc_initial_percent": 55}]
    where, message = _only_problem(raw)
    assert where == "assets.battery"
    assert message.startswith("items[0] with the defaults: need soc_min_percent <=")


# ----------------------------------------------------------------------------- input traps



def _day_csv(path: Path, offset: bool = True) -> Path:
    """Hourly weather around 2026-06-01 (Martinique), stamps with or without an offset."""
    tz = "-04:00" if offset else ""
    rows = ["timestamp,ghi_w_per_m2,temp_air_c", f"2026-05-31T23:00:00{tz},0,26"]
    rows += [f"2026-06-01T{h:02d}:00:00{tz},{max(0, 900 - 80 * abs(h - 12))},27"
             for h in range(24)]
    rows.append(f"2026-06-02T01:00:00{tz},0,26")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_set_switches_weather_to_csv_path_relative_to_cwd(tmp_path, monkeypatch):
    """The baseline's weather has mean_kc & co: switching the source drops them; a --set
    path is relative to the working directory, not to the scenario's folder."""
    _day_csv(tmp_path / "wx.csv")
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario(BASELINE, ["weather.source=csv", "weather.path=wx.csv"])
    assert scenario.weather.source == "csv"
    assert scenario.weather.path == (tmp_path / "wx.csv").resolve()
    # the other order, and back to synthetic
    scenario = load_scenario(BASELINE, ["weather.path=wx.csv", "weather.source=csv"])
    assert scenario.weather.path == (tmp_path / "wx.csv").resolve()
    assert load_scenario(BASELINE, ["weather.source=synthetic"]).weather.mean_kc == 0.75


def test_weather_csv_without_offsets_refused_unless_timezone(tmp_path, monkeypatch):
    _day_csv(tmp_path / "local.csv", offset=False)
    monkeypatch.chdir(tmp_path)
    base = ["weather.source=csv", "weather.path=local.csv"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, base)
    [(where, message)] = info.value.problems
    assert where == "weather.path"
    assert "column 'timestamp' row 1 ('2026-05-31T23:00:00') has no UTC offset" in message
    assert "weather.timezone" in message
    scenario = load_scenario(BASELINE, [*base, "weather.timezone=America/Martinique"])
    assert scenario.weather.timezone == "America/Martinique"
    with pytest.raises(ScenarioError, match="weather.timezone: unknown IANA time zone"):
        load_scenario(BASELINE, [*base, "weather.timezone=Mars/Olympus"])


def test_readme_items_override_pads_the_per_asset_overrides():
    """`--set assets.battery.items[2].soc_initial_percent=90` on the default scenario,
    which has no battery items: items 0 and 1 become {} (the defaults)."""
    scenario = load_scenario(BASELINE, ["assets.battery.items[2].soc_initial_percent=90"])
    socs = [b.soc_initial_percent for b in scenario.assets.resolved("battery")]
    assert socs == [50, 50, 90] + [50] * 7
    with pytest.raises(ScenarioError, match="12 items given but count is 10"):
        load_scenario(BASELINE, ["assets.battery.items[11].soc_initial_percent=90"])
    with pytest.raises(ScenarioError, match="index 3 is out of range"):  # only in items
        apply_overrides({"xs": [1]}, ["xs[3]=2"])


@pytest.mark.parametrize("value, message", [
    ("*", "YAML syntax error"), ("*x", "undefined alias"), ('"unterminated', "YAML syntax"),
    ("@foo", "cannot start any token"), ("%YAML 1.1", "YAML syntax error"),
    ("!!int abc", "not a valid YAML value"),
    ("!!python/object:os.system", "unsafe or unknown YAML tag '!!python/object:os.system'"),
])
def test_set_value_that_is_not_yaml_names_the_override(value, message):
    with pytest.raises(ScenarioError) as info:
        apply_overrides({}, [f"name={value}"])
    [(where, text)] = info.value.problems
    assert where == "name" and message in text and "\n" not in str(info.value)


def test_bad_files_and_huge_values_are_scenario_errors(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(BASELINE.read_bytes().replace(b"one June day", b"caf\xe9"))
    with pytest.raises(ScenarioError, match="not UTF-8 text: byte 0xe9"):
        load_scenario(latin)
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: x\ndescription: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ScenarioError, match="nested too deeply"):
        load_scenario(deep)
    for item, where, message in [
        ("assets.ev.items[" + "9" * 5000 + "].p_max_kw=3", None, "is too large (at most 10000)"),
        ("step=PT" + "9" * 30 + "S", "step", "too long"),
        ("site.timezone=" + "a" * 100, "site.timezone", "at most 64 characters"),
        ("assets.pv.defaults.p_dc_kwp=1e22", "assets.pv.defaults.p_dc_kwp", "must be <= 10000"),
        ("assets.ev_charger=[" + "{}, " * 10_001 + "{}]", "assets", "at most 10,000"),
    ]:
        with pytest.raises(ScenarioError) as info:
            load_scenario(BASELINE, [item])
        [(got_where, text)] = info.value.problems
        assert message in text, (item[:40], text)
        assert where is None or got_where == where, (item[:40], got_where)
