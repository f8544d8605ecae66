"""The mosaik adapters in small worlds: inputs reach the models, outputs come back."""

from __future__ import annotations

import mosaik
import pytest

from twin.scenario.loading import validate

STEP_S = 900
SIM_CONFIG = {
    "Input": {"python": "mosaik.basic_simulators:InputSimulator"},
    "Output": {"python": "mosaik.basic_simulators:OutputSimulator"},
    "Battery": {"python": "simulators.battery.mosaik:BatterySim"},
    "PV": {"python": "simulators.pv.mosaik:PvSim"},
    "EV": {"python": "simulators.ev.mosaik:EvSim"},
    "Feeder": {"python": "simulators.feeder.mosaik:FeederSim"},
}


def small_scenario(**assets) -> dict:
    data = {"name": "small", "start": "2026-06-01T00:00:00-04:00", "duration": "P1D",
            "assets": {"pv": [], "battery": [], "ev_charger": [], "ev": [], "load": [],
                       **assets}}
    return validate(data).model_dump(mode="json")


@pytest.fixture
def world():
    """A small world; each test runs it with ``shutdown=False``, reads, then shuts it down."""
    return mosaik.World(SIM_CONFIG, skip_greetings=True, configure_logging=False)


def collect(world, entity, *attrs):
    out_sim = world.start("Output")
    sink = out_sim.Dict.create(1)[0]
    world.connect(entity, sink, *attrs)
    return out_sim, sink


def test_battery_adapter_delivers_what_it_can(world):
    sc = small_scenario(battery=[{"capacity_kwh": 100, "p_charge_max_kw": 50}])
    bat = world.start("Battery", scenario=sc).Battery.create(1, ids=["battery_00"])[0]
    setpoint = world.start("Input", step_size=STEP_S).Constant.create(1, constant=80.0)[0]
    world.connect(setpoint, bat, ("value", "p_set_kw"))
    out_sim, sink = collect(world, bat, "p_kw", "p_deviation_kw", "soc_percent")
    world.run(until=4 * STEP_S, print_progress=False, shutdown=False)
    data = out_sim.get_dict(sink.eid)
    assert sorted(data) == [0, 900, 1800, 2700]
    first = {k: next(iter(v.values())) for k, v in data[0].items()}
    assert first["p_kw"] == pytest.approx(50.0)
    assert first["p_deviation_kw"] == pytest.approx(30.0)
    # 50 kWh stored, 0.1 %/day self-discharge over 15 min, then 50 kW x 0.25 h x 0.95
    e_kwh = 50.0 * 0.999 ** (1 / 96) + 11.875
    assert first["soc_percent"] == pytest.approx(e_kwh, abs=1e-9)  # capacity 100 kWh
    world.shutdown()


def test_pv_adapter_applies_active_power_limit(world):
    sc = small_scenario(pv=[{"p_dc_kwp": 5.0}])
    pv = world.start("PV", scenario=sc).PV.create(1, ids=["pv_00"])[0]
    limit = world.start("Input", step_size=STEP_S).Constant.create(1, constant=1.0)[0]
    world.connect(limit, pv, ("value", "p_limit_kw"))
    out_sim, sink = collect(world, pv, "p_kw", "p_avail_kw")
    world.run(until=96 * STEP_S, print_progress=False, shutdown=False)
    data = out_sim.get_dict(sink.eid)
    p = [next(iter(row["p_kw"].values())) for row in data.values()]
    avail = [next(iter(row["p_avail_kw"].values())) for row in data.values()]
    assert min(avail) < -2.0  # the sun was up
    assert min(p) == pytest.approx(-1.0)
    assert all(pk >= ak for pk, ak in zip(p, avail, strict=True))
    world.shutdown()


def test_ev_adapter_publishes_events_at_their_instants(world):
    sc = small_scenario(ev_charger=[{"p_max_kw": 22}], ev=[{"pattern": "home"}])
    ev_sim = world.start("EV", scenario=sc)
    charger = ev_sim.Charger.create(1, ids=["ev_charger_00"])[0]
    ev_sim.EV.create(1, ids=["ev_00"])
    fleet = ev_sim.Fleet.create(1)[0]
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


def test_feeder_adapter_sums_devices_per_bus(world):
    sc = small_scenario()
    feeder = world.start("Feeder", scenario=sc)
    buses = {b.eid: b for b in feeder.Bus.create(25)}
    grid = feeder.Grid.create(1)[0]
    inputs = world.start("Input", step_size=STEP_S)
    for value in (10.0, 5.0):  # two devices on one bus
        src = inputs.Constant.create(1, constant=value)[0]
        world.connect(src, buses["f2_b8"], ("value", "p_kw"))
    out_sim, sink = collect(world, grid, "p_import_kw", "p_loss_kw", "p_load_kw", "converged")
    world.run(until=STEP_S, print_progress=False, shutdown=False)
    row = {k: next(iter(v.values())) for k, v in out_sim.get_dict(sink.eid)[0].items()}
    assert row["converged"] == 1 and row["p_load_kw"] == pytest.approx(15.0)
    assert row["p_import_kw"] == pytest.approx(15.0 + row["p_loss_kw"], abs=1e-9)
    assert 0.36 < row["p_loss_kw"] < 1.0  # transformer no-load losses plus some copper
    world.shutdown()
