"""The site simulator in small worlds: inputs reach the device parts, outputs come back
as lists over each device class."""

from __future__ import annotations

import mosaik
import numpy as np
import pytest

from simulators.feeder.part import FeederPart
from twin.scenario.assets import resolve_assets
from twin.scenario.loading import validate

STEP_S = 900
SIM_CONFIG = {
    "Input": {"python": "mosaik.basic_simulators:InputSimulator"},
    "Output": {"python": "mosaik.basic_simulators:OutputSimulator"},
    "Site": {"python": "simulators.site.mosaik:SiteSim"},
}


def small_scenario(**assets):
    data = {"name": "small", "start": "2026-06-01T00:00:00-04:00", "duration": "P1D",
            "assets": {"pv": [], "battery": [], "ev_charger": [], "ev": [], "load": [],
                       **assets}}
    return validate(data)


@pytest.fixture
def world():
    """A small world; each test runs it with ``shutdown=False``, reads, then shuts it down."""
    return mosaik.World(SIM_CONFIG, skip_greetings=True, configure_logging=False)


def start_site(world, scenario):
    return world.start("Site", scenario=scenario.model_dump(mode="json"))


def collect(world, entity, *attrs):
    out_sim = world.start("Output")
    sink = out_sim.Dict.create(1)[0]
    world.connect(entity, sink, *attrs)
    return out_sim, sink


def first_device(data: dict, t: int) -> dict:
    """Each attribute's value for the first device of a set entity at time ``t``."""
    return {k: next(iter(v.values()))[0] for k, v in data[t].items()}


def test_site_battery_delivers_what_it_can(world):
    sc = small_scenario(battery=[{"capacity_kwh": 100, "p_charge_max_kw": 50}])
    bat = start_site(world, sc).BatterySet.create(1)[0]
    setpoint = world.start("Input", step_size=STEP_S).Constant.create(1, constant=80.0)[0]
    world.connect(setpoint, bat, ("value", "p_set_kw"))
    out_sim, sink = collect(world, bat, "p_kw", "p_deviation_kw", "soc_percent")
    world.run(until=4 * STEP_S, print_progress=False, shutdown=False)
    data = out_sim.get_dict(sink.eid)
    assert sorted(data) == [0, 900, 1800, 2700]
    first = first_device(data, 0)
    assert first["p_kw"] == pytest.approx(50.0)
    assert first["p_deviation_kw"] == pytest.approx(30.0)
    # 50 kWh stored, 0.1 %/day self-discharge over 15 min, then 50 kW x 0.25 h x 0.95
    e_kwh = 50.0 * 0.999 ** (1 / 96) + 11.875
    assert first["soc_percent"] == pytest.approx(e_kwh, abs=1e-9)  # capacity 100 kWh
    world.shutdown()


def test_site_pv_applies_active_power_limit(world):
    sc = small_scenario(pv=[{"p_dc_kwp": 5.0}])
    pv = start_site(world, sc).PVSet.create(1)[0]
    limit = world.start("Input", step_size=STEP_S).Constant.create(1, constant=1.0)[0]
    world.connect(limit, pv, ("value", "p_limit_kw"))
    out_sim, sink = collect(world, pv, "p_kw", "p_avail_kw")
    world.run(until=96 * STEP_S, print_progress=False, shutdown=False)
    data = out_sim.get_dict(sink.eid)
    p = [first_device(data, t)["p_kw"] for t in data]
    avail = [first_device(data, t)["p_avail_kw"] for t in data]
    assert min(avail) < -2.0  # the sun was up
    assert min(p) == pytest.approx(-1.0)
    assert all(pk >= ak for pk, ak in zip(p, avail, strict=True))
    world.shutdown()


def test_site_publishes_ev_events_at_their_instants(world):
    sc = small_scenario(ev_charger=[{"p_max_kw": 22}], ev=[{"pattern": "home"}])
    site = start_site(world, sc)
    charger, fleet = site.ChargerSet.create(1)[0], site.Fleet.create(1)[0]
    setpoint = world.start("Input", step_size=STEP_S).Constant.create(1, constant=22.0)[0]
    world.connect(setpoint, charger, ("value", "p_set_kw"))
    out_sim, sink = collect(world, fleet, "events")
    world.run(until=96 * STEP_S, print_progress=False, shutdown=False)
    data = out_sim.get_dict(sink.eid)
    events = [e for row in data.values() for e in next(iter(row["events"].values()))]
    kinds = {e["kind"] for e in events}
    assert {"plug_in", "departure"} <= kinds
    for t, row in data.items():  # each event is delivered at its own (integer) second
        for e in next(iter(row["events"].values())):
            assert int(e["t_s"]) == t
    assert any(t % STEP_S for t in data)
    world.shutdown()


def test_site_power_flow_sees_every_device(world):
    sc = small_scenario(battery=[{"capacity_kwh": 100, "p_charge_max_kw": 20, "bus": "f2_b8"}],
                        load=[{"bus": "f2_b8"}])
    site = start_site(world, sc)
    bat, grid = site.BatterySet.create(1)[0], site.Grid.create(1)[0]
    load = site.HouseholdSet.create(1)[0]
    setpoint = world.start("Input", step_size=STEP_S).Constant.create(1, constant=10.0)[0]
    world.connect(setpoint, bat, ("value", "p_set_kw"))
    out_sim, sink = collect(world, grid, "p_import_kw", "p_loss_kw", "p_load_kw", "converged")
    load_sim, load_sink = collect(world, load, "p_kw")
    world.run(until=STEP_S, print_progress=False, shutdown=False)
    row = {k: next(iter(v.values())) for k, v in out_sim.get_dict(sink.eid)[0].items()}
    load_kw = first_device(load_sim.get_dict(load_sink.eid), 0)["p_kw"]
    assert load_kw > 0.0
    assert row["converged"] == 1 and row["p_load_kw"] == pytest.approx(10.0 + load_kw)
    assert row["p_import_kw"] == pytest.approx(row["p_load_kw"] + row["p_loss_kw"], abs=1e-9)
    world.shutdown()


def test_feeder_part_sums_devices_per_bus():
    sc = small_scenario(battery=[{"bus": "f2_b8"}, {"bus": "f2_b8"}, {"bus": "f1_b1"}])
    part = FeederPart(sc, {"battery": resolve_assets(sc)["battery"]})
    p = part.injections({"battery": np.array([10.0, 5.0, 1.0])})
    assert p[part.feeder.load_index("f2_b8")] == 15.0
    assert p[part.feeder.load_index("f1_b1")] == 1.0 and p.sum() == 16.0
    part.advance({"battery": np.array([10.0, 5.0, 1.0])}, {})
    grid = part.grid
    assert grid["converged"] == 1 and grid["p_load_kw"] == pytest.approx(16.0)
    assert grid["p_import_kw"] == pytest.approx(16.0 + grid["p_loss_kw"], abs=1e-9)
    assert 0.36 < grid["p_loss_kw"] < 1.0  # transformer no-load losses plus some copper
