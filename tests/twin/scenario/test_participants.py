"""Market participants: automatic grouping by bus, explicit lists and their errors."""

from __future__ import annotations

from collections import Counter

import pytest

from twin.scenario.errors import ScenarioError
from twin.scenario.loading import load_scenario
from twin.scenario.participants import market_tree, resolve_participants

P2P = "scenarios/martinique_p2p.yaml"
SMALL = ["assets.pv.count=2", "assets.battery.count=1", "assets.ev_charger.count=1",
         "assets.ev.count=1", "assets.load.count=3", "assets.ev_charger.items=[]",
         "assets.ev.items=[]", "grid.n_feeders=1", "grid.buses_per_feeder=2"]


def test_auto_groups_devices_behind_the_meters_of_their_bus():
    sc = load_scenario(P2P)
    people = resolve_participants(sc)
    assert len(people) == 31  # 30 households and the workplace car park
    assert Counter(p.type for p in people) == {"single_family": 30, "commercial": 1}
    for p in people:  # one meter, one bus
        assert {a.bus for g in p.assets.values() for a in g} == {p.bus}
    owned = [a.id for p in people for g in p.assets.values() for a in g]
    assert len(owned) == len(set(owned)) == 10 + 10 + 10 + 30
    # the strategy mix 0.5 / 0.25 / 0.25 dealt out over 31 participants
    assert Counter(p.strategy for p in people) == {"gsy_ramp": 15, "linear": 8,
                                                    "zero_intelligence": 8}


def test_auto_types_follow_the_devices():
    sc = load_scenario(P2P, [*SMALL, "assets.load.items=[{annual_kwh: 9000}, "
                             "{profile: commercial}, {}]"])
    types = {p.ids("load")[0]: p.type for p in resolve_participants(sc) if p.ids("load")}
    assert types == {"load_00": "multi_family", "load_01": "commercial",
                     "load_02": "single_family"}


def test_market_tree_puts_houses_under_their_feeder():
    sc = load_scenario(P2P)
    tree = market_tree(sc, resolve_participants(sc))
    assert tree.parent["p01"] == "f1" and tree.parent["f1"] == "mv"
    assert tree.parent["p31"] == "mv"  # the busbar car park sits under the MV market
    assert tree.fee["f2"].constant_ct_per_kwh == 0.5 and tree.fee["mv"].constant_ct_per_kwh == 1


def _explicit(participants: str, *extra):
    return load_scenario(P2P, [*SMALL, f"market.participants={participants}", *extra])


def test_explicit_participants_with_types_and_strategies():
    sc = _explicit("[{id: home, type: single_family, assets: [load_00, pv_00, battery_00, "
                   "ev_charger_00], strategy: linear}, {id: sun, type: producer, assets: "
                   "[pv_01]}]")
    home, sun = resolve_participants(sc)
    assert (home.type, home.strategy, sun.type) == ("single_family", "linear", "producer")


@pytest.mark.parametrize("participants, field, message", [
    ("[{id: a, type: producer, assets: [pv_9]}, {id: b, type: storage, assets: [battery_00, "
     "ev_charger_00]}]", "market.participants[0].assets[0]", "no pv, battery, ev_charger or "
     "load 'pv_9'"),
    ("[{id: a, type: storage, assets: [battery_00, ev_charger_00]}, {id: b, type: storage, "
     "assets: [battery_00]}]", "market.participants[1].assets[0]",
     "'battery_00' is already behind the meter of 'a'"),
    ("[{id: a, type: producer, assets: [pv_00]}]", "market.participants",
     "battery 'battery_00' is behind no participant's meter"),
    ("[{id: mv, type: storage, assets: [battery_00, ev_charger_00]}]",
     "market.participants[0].id", "'mv' is the name of a market area"),
    ("[{id: a, type: storage, assets: [battery_00, ev_charger_00]}, {id: a, type: producer, "
     "assets: [pv_00]}]", "market.participants", "duplicate participant id 'a'"),
])
def test_explicit_participants_errors_name_the_field(participants, field, message):
    with pytest.raises(ScenarioError) as info:
        _explicit(participants)
    assert any(p == field and message in m for p, m in info.value.problems), \
        info.value.problems


def test_one_meter_is_on_one_bus():
    with pytest.raises(ScenarioError) as info:
        _explicit("[{id: a, type: single_family, assets: [load_00, load_01, battery_00, "
                  "ev_charger_00]}]", "assets.load.items=[{bus: f1_b1}, {bus: f1_b2}, {}]")
    assert any("one meter is on one bus" in m for _, m in info.value.problems)


@pytest.mark.parametrize("override, field, message", [
    ("market.slot=PT30M", "", "market.slot: PT30M must equal the step (PT15M)"),
    ("scheduling.strategy=flexmeasures", "", "with a market the prosumer agents drive"),
    ("market.ticks_per_slot=7", "market.ticks_per_slot", "must be >= 10, got 7"),
    ("market.strategies=[{strategy: linear}, {strategy: linear}]", "market",
     "each strategy once"),
    ("market.rule=vickrey", "market.rule", "pay_as_offer"),
])
def test_market_section_errors(override, field, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(P2P, [override])
    assert any(message in m and p.startswith(field) for p, m in info.value.problems), \
        info.value.problems
