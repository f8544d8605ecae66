"""World assembly: the scenario's simulators created, connected and run in mosaik.

Data flow of one step ``[t, t + step)``::

    PV (available power), Household loads ──> Controller (strategy)
    Battery / EV state (end of the previous step, time-shifted) ──> Controller
    Controller ──p_set_kw──> Battery, EV chargers
    PV, loads, batteries, chargers ──p_kw──> Feeder buses ──> AC power flow
    everything ──> Recorder (Parquet parts)

The exogenous inputs (weather, prices) are known for the whole horizon: they are
computed once and written to ``inputs.parquet`` (twin.inputs), not stepped through mosaik.
"""

from __future__ import annotations

from pathlib import Path

import mosaik

from agents.control.mosaik import PLAN_ATTRS
from hil.mosaik import HIL_ATTRS
from hil.mosaik import MODELS as HIL_MODELS
from simulators.battery.mosaik import ATTRS as BATTERY_ATTRS
from simulators.battery.mosaik import initial_outputs as battery_initial
from simulators.ev.mosaik import CHARGER_ATTRS, EV_ATTRS, PLUGGED_EV_ATTRS
from simulators.ev.mosaik import initial_outputs as ev_initial_outputs
from simulators.feeder.mosaik import GRID_ATTRS
from twin.scenario.assets import hil_assets, resolve_assets
from twin.scenario.schema import Scenario

SIM_CONFIG = {
    "PV": {"python": "simulators.pv.mosaik:PvSim"},
    "Load": {"python": "simulators.load.mosaik:LoadSim"},
    "Battery": {"python": "simulators.battery.mosaik:BatterySim"},
    "EV": {"python": "simulators.ev.mosaik:EvSim"},
    "Feeder": {"python": "simulators.feeder.mosaik:FeederSim"},
    "Controller": {"python": "agents.control.mosaik:ControllerSim"},
    "Community": {"python": "agents.community.mosaik:CommunitySim"},
    "Market": {"python": "agents.market.mosaik:MarketSim"},
    "Recorder": {"python": "twin.recorder:RecorderSim"},
    "Hil": {"python": "hil.mosaik:HilSim"},
}


# What the recorder takes from each kind of entity, by ``outputs.detail``.
RECORDED = {
    "standard": {
        "pv": ["p_kw", "p_avail_kw"],
        "load": ["p_kw"],
        "battery": ["p_set_kw", "p_kw", "soc_percent", "e_kwh", "e_loss_kwh"],
        "ev_charger": ["p_set_kw", "p_kw", "plugged", "ev_e_kwh"],
        "ev": ["soc_percent", "on_site", "e_owed_kwh"],
    },
    "full": {
        "pv": ["p_kw", "p_avail_kw", "p_limit_kw"],
        "load": ["p_kw", "q_kvar"],
        "battery": BATTERY_ATTRS,
        "ev_charger": [*CHARGER_ATTRS, "ev_e_kwh"],
        "ev": EV_ATTRS,
    },
}


def build_world(
    scenario: Scenario, run_dir: Path, progress: bool = False,
    hil_origin_file: Path | None = None,
) -> tuple[mosaik.World, int]:
    """Create and connect every simulator; returns the world and the end time [s].
    ``hil_origin_file``: where a HIL run writes its first step's wall time, for the
    emulators it started (:mod:`hil.origin`)."""
    world = mosaik.World(SIM_CONFIG, debug=False, skip_greetings=True, configure_logging=False)
    sc = scenario.model_dump(mode="json")
    assets = resolve_assets(scenario)
    ids = {kind: [a.id for a in items] for kind, items in assets.items()}

    def start(name, **kw):
        return world.start(name, scenario=sc, **kw)

    pv_sim, load_sim, bat_sim, ev_sim = start("PV"), start("Load"), start("Battery"), start("EV")
    pvs = pv_sim.PV.create(len(ids["pv"]), ids=ids["pv"])
    loads = load_sim.Household.create(len(ids["load"]), ids=ids["load"])
    batteries = bat_sim.Battery.create(len(ids["battery"]), ids=ids["battery"])
    chargers = ev_sim.Charger.create(len(ids["ev_charger"]), ids=ids["ev_charger"])
    ev_sim.EV.create(len(ids["ev"]), ids=ids["ev"])  # recorded through their set
    fleet = ev_sim.Fleet.create(1)[0]
    # one entity per device class carries every device's outputs to the recorder
    sets = {
        "pv": pv_sim.PVSet.create(1)[0], "load": load_sim.HouseholdSet.create(1)[0],
        "battery": bat_sim.BatterySet.create(1)[0],
        "ev_charger": ev_sim.ChargerSet.create(1)[0], "ev": ev_sim.EVSet.create(1)[0],
    }
    feeder_sim = start("Feeder")
    bus_names = scenario.grid.lv_bus_names()
    buses = dict(zip(bus_names, feeder_sim.Bus.create(len(bus_names)), strict=True))
    grid = feeder_sim.Grid.create(1)[0]
    market = scenario.market is not None
    if not market:
        ctl = start("Controller")
        site = ctl.Site.create(1)[0]
        bat_ctl = ctl.BatteryCtl.create(len(ids["battery"]), ids=ids["battery"])
        ch_ctl = ctl.ChargerCtl.create(len(ids["ev_charger"]), ids=ids["ev_charger"])
    else:  # prosumer agents (Mesa) trading on the market drive the devices instead
        community_sim = start("Community")
        community = community_sim.Community.create(1)[0]
        bat_ctl = community_sim.BatteryAgent.create(len(ids["battery"]), ids=ids["battery"])
        ch_ctl = community_sim.ChargerAgent.create(len(ids["ev_charger"]), ids=ids["ev_charger"])
        operator = start("Market", run_dir=str(run_dir)).Operator.create(1)[0]
        world.connect(community, operator, "orders")
        world.connect(operator, community, "trades", time_shifted=True,
                      initial_data={"trades": []})
    recorder = world.start(
        "Recorder", run_dir=str(run_dir), start=scenario.start.isoformat(),
        step_s=scenario.step_s, flush_every_steps=scenario.outputs.flush_every_steps,
        flush_interval_s=scenario.outputs.flush_interval_s,
        progress=progress, n_steps=scenario.n_steps, label=scenario.name,
        labels={"vm_pu_bus": bus_names, "line_loading_percent": line_names(scenario)},
        set_labels={**{entity.eid: ids[kind] for kind, entity in sets.items()},
                    "hilset": hil_device_ids(assets)},
    ).Recorder.create(1)[0]

    connect = world.connect
    rec = RECORDED[scenario.outputs.detail]
    hil = hil_entities(world, scenario, assets, run_dir, recorder, hil_origin_file) \
        if scenario.is_hil else {}

    def device(asset, sim_entity):
        """Who stands for the asset in the power flow and before the controller."""
        return hil.get(asset.id, sim_entity)

    def to_site(asset, sim_entity, attr, site_attr):
        """A simulated device's power of the step; a real one's as last measured (the
        controller cannot know a real device's power before the step happens)."""
        if asset.id in hil:
            connect(hil[asset.id], site, (attr, site_attr), time_shifted=True,
                    initial_data={attr: 0.0})
        else:
            connect(sim_entity, site, (attr, site_attr))

    for asset, pv in zip(assets["pv"], pvs, strict=True):
        connect(device(asset, pv), buses[asset.bus], "p_kw")
        if not market:
            to_site(asset, pv, "p_avail_kw", "pv_p_kw")
    for asset, load in zip(assets["load"], loads, strict=True):
        connect(device(asset, load), buses[asset.bus], "p_kw", "q_kvar")
        if not market:
            to_site(asset, load, "p_kw", "load_p_kw")
    state_attrs = ["p_charge_avail_kw", "p_discharge_avail_kw", "soc_percent", "e_kwh"]
    bat_initial = [battery_initial(a.spec, scenario.step_s) for a in assets["battery"]]
    ev_initial = ev_initial_outputs(scenario, assets["ev"], assets["ev_charger"])
    if market:  # the community reads all device states at once, from the set entities
        if bat_initial:
            connect(sets["battery"], community, "e_kwh", time_shifted=True,
                    initial_data={"e_kwh": [i["e_kwh"] for i in bat_initial]})
        if ev_initial:
            connect(sets["ev_charger"], community, *PLUGGED_EV_ATTRS, time_shifted=True,
                    initial_data={a: [i[a] for i in ev_initial] for a in PLUGGED_EV_ATTRS})
    for asset, bat, bctl, initial in zip(assets["battery"], batteries, bat_ctl, bat_initial,
                                         strict=True):
        if not market:
            connect(device(asset, bat), bctl, *state_attrs, time_shifted=True,
                    initial_data={a: initial[a] for a in state_attrs})
        connect(bctl, bat, "p_set_kw")  # a HIL device's twin follows the same setpoints
        if asset.id in hil:
            connect(bctl, hil[asset.id], "p_set_kw")
        connect(device(asset, bat), buses[asset.bus], "p_kw")
    for asset, ch, cctl, initial in zip(
        assets["ev_charger"], chargers, ch_ctl, ev_initial, strict=True
    ):
        if not market:
            connect(device(asset, ch), cctl, "p_charge_avail_kw", "p_discharge_avail_kw",
                    *PLUGGED_EV_ATTRS, time_shifted=True, initial_data=initial)
        connect(cctl, ch, "p_set_kw")
        if asset.id in hil:
            connect(cctl, hil[asset.id], "p_set_kw")
        connect(device(asset, ch), buses[asset.bus], "p_kw")
    if "ven" in hil:  # grid signals of the OpenADR VEN into the strategy's site
        connect(grid, hil["ven"], ("p_import_kw", "site_p_kw"), time_shifted=True,
                initial_data={"p_import_kw": 0.0})
        connect(hil["ven"], site, "grid_signals", time_shifted=True,
                initial_data={"grid_signals": []})
        # what the site could shed, for the VEN's opt-in decisions
        connect(sets["battery"], hil["ven"], ("p_kw", "battery_p_kw"),
                ("p_discharge_avail_kw", "battery_discharge_kw"))
        connect(sets["ev_charger"], hil["ven"], ("p_kw", "charger_p_kw"))
    if "publisher" in hil:
        for kind, attr in (("pv", "pv_p_kw"), ("load", "load_p_kw"),
                           ("battery", "battery_p_kw"), ("ev_charger", "ev_charger_p_kw")):
            connect(sets[kind], hil["publisher"], ("p_kw", attr))
    for kind, entity in sets.items():
        connect(entity, recorder, *rec[kind])
    connect(fleet, recorder, "n_plugged", "n_waiting", "events")
    connect(grid, recorder, *GRID_ATTRS)
    if not market:
        connect(site, recorder, "inflexible_forecast_kw")
    if scenario.scheduling.strategy != "rule_based":  # the plan in force, per device
        for entity in [*bat_ctl, *ch_ctl]:
            connect(entity, recorder, *PLAN_ATTRS)
    return world, scenario.duration_s


def line_names(scenario: Scenario) -> list[str]:
    g = scenario.grid
    return [f"f{f}_l{k}" for f in range(1, g.n_feeders + 1) for k in range(1, g.buses_per_feeder + 1)]


def hil_entities(world, scenario: Scenario, assets: dict, run_dir: Path, recorder,
                 origin_file: Path | None = None) -> dict:
    """The bridge entity of every HIL asset (by asset id), and ``ven`` / ``publisher``
    where the scenario has them; the per-device HIL series and the lag go to the recorder."""
    sim = world.start("Hil", scenario=scenario.model_dump(mode="json"), run_dir=str(run_dir),
                      origin_file=None if origin_file is None else str(origin_file))
    out = {}
    devices = hil_assets(assets)
    for kind, model in HIL_MODELS.items():
        ids = [a.id for a in devices if a.kind == kind]
        if ids:
            out.update(zip(ids, getattr(sim, model).create(len(ids), ids=ids), strict=True))
    hil_set, clock = sim.HilSet.create(1)[0], sim.Clock.create(1)[0]
    world.connect(hil_set, recorder, *HIL_ATTRS)
    world.connect(clock, recorder, "lag_s")
    if scenario.hil.openadr is not None:
        out["ven"] = sim.Ven.create(1)[0]
        world.connect(out["ven"], recorder, "site_limit_kw", "price_eur_per_kwh")
    if scenario.hil.mqtt.publish:
        out["publisher"] = sim.Publisher.create(1)[0]
    return out


def hil_device_ids(assets: dict) -> list[str]:
    """The HIL assets' ids in the order of the ``HilSet`` lists."""
    return [a.id for a in hil_assets(assets)]
