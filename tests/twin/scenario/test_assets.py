"""Asset resolution: ids, buses, count and list forms (twin.scenario.assets)."""

from __future__ import annotations

from tests import REPO
from twin.scenario.assets import resolve_assets
from twin.scenario.loading import load_scenario, validate

BASELINE = REPO / "scenarios" / "martinique_baseline.yaml"

# the 24 feeder buses hosting round-robin assets, in spread order
FEEDER_BUSES = [f"f{f}_b{b}" for f in (1, 2, 3) for b in range(1, 9)]


def test_resolve_assets_default_counts_and_ids():
    assets = resolve_assets(load_scenario(BASELINE))
    assert {k: len(v) for k, v in assets.items()} == {
        "pv": 10, "battery": 10, "ev_charger": 10, "ev": 10, "load": 30,
    }
    assert [a.id for a in assets["pv"]][:3] == ["pv_00", "pv_01", "pv_02"]
    assert assets["load"][-1].id == "load_29"
    assert assets["ev_charger"][9].id == "ev_charger_09"
    assert all(a.kind == kind for kind, items in assets.items() for a in items)


def test_resolve_assets_spread_over_feeder_buses():
    assets = resolve_assets(load_scenario(BASELINE))
    expected = ["f1_b1", "f1_b3", "f1_b5", "f1_b8", "f2_b2",
                "f2_b5", "f2_b7", "f3_b1", "f3_b4", "f3_b6"]
    assert [a.bus for a in assets["pv"]] == expected
    assert [a.bus for a in assets["battery"]] == expected
    loads = [a.bus for a in assets["load"]]
    assert loads == [FEEDER_BUSES[(i * 24) // 30] for i in range(30)]
    assert set(loads) == set(FEEDER_BUSES)  # every feeder bus hosts a household
    assert "lv_busbar" not in loads


def test_resolve_assets_deterministic():
    a = resolve_assets(load_scenario(BASELINE))
    b = resolve_assets(load_scenario(BASELINE))
    assert [(x.id, x.bus) for k in a for x in a[k]] == [(x.id, x.bus) for k in b for x in b[k]]


def test_resolve_assets_explicit_bus_kept():
    assets = resolve_assets(load_scenario(BASELINE))
    chargers = assets["ev_charger"]
    assert [c.bus for c in chargers[7:]] == ["lv_busbar"] * 3
    assert [c.spec.location for c in chargers[7:]] == ["workplace"] * 3
    assert chargers[0].bus == "f1_b1" and chargers[0].spec.location == "home"


def test_resolve_assets_evs_have_no_bus():
    assets = resolve_assets(load_scenario(BASELINE))
    assert all(ev.bus is None for ev in assets["ev"])
    assert [ev.spec.pattern for ev in assets["ev"]].count("workplace") == 3


def test_resolve_assets_count_form_items_override_given_fields(raw):
    raw["assets"]["battery"]["items"] = [{"capacity_kwh": 40, "id": "big_one", "bus": "f3_b8"}]
    assets = resolve_assets(validate(raw))["battery"]
    first, second = assets[0], assets[1]
    assert (first.id, first.bus, first.spec.capacity_kwh) == ("big_one", "f3_b8", 40)
    assert first.spec.p_charge_max_kw == 50 and first.spec.soc_max_percent == 95
    assert (second.id, second.bus, second.spec.capacity_kwh) == ("battery_01", "f1_b3", 100)


def test_resolve_assets_list_form(raw):
    raw["assets"]["pv"] = [{"p_dc_kwp": 9, "bus": "f2_b4"}, {"id": "roof"}]
    pv = resolve_assets(validate(raw))["pv"]
    assert [(a.id, a.bus, a.spec.p_dc_kwp) for a in pv] == [
        ("pv_00", "f2_b4", 9), ("roof", "f2_b5", 5.0),
    ]


def test_resolve_assets_single_bus_grid(raw):
    raw["grid"].update(n_feeders=1, buses_per_feeder=1)
    assets = resolve_assets(validate(raw))
    assert {a.bus for a in assets["load"]} == {"f1_b1"}
