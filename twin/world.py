"""World assembly: the scenario's simulators started, connected and run in mosaik.

Sign convention: positive = consumption / charging / import, on every connection.

Data flow of one step ``[t, t + step)``::

    PV (available power), Household loads ──> Controller (strategy)
    Battery / EV state (end of the previous step, time-shifted) ──> Controller
    Controller ──p_set_kw──> Battery, EV chargers
    PV, loads, batteries, chargers ──p_kw──> Feeder buses ──> AC power flow
    everything ──> Recorder (Parquet parts)

With a market the prosumer agents (Mesa) trading on the market take the controller's
place: both are a :class:`Control`, picked once for a scenario by :func:`control_for`.

:func:`build_world` reads like a mosaik scenario: start devices, the feeder, the HIL
bridges, the control and the recorder; connect the power flow, the control, the grid
signals and the recording. The exogenous inputs (weather, prices) are known for the
whole horizon: they are computed once and written to ``inputs.parquet``
(twin.inputs), not stepped through mosaik.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
# the battery state a controller reads, end of the previous step (time-shifted)
BATTERY_STATE_ATTRS = ["p_charge_avail_kw", "p_discharge_avail_kw", "soc_percent", "e_kwh"]
CHARGER_STATE_ATTRS = ["p_charge_avail_kw", "p_discharge_avail_kw", *PLUGGED_EV_ATTRS]


@dataclass
class Devices:
    """The simulated device entities: one list per asset kind (``pv``, ``load``,
    ``battery``, ``ev_charger``) in the scenario's resolve order, one set entity per
    device class (its attributes are lists over the class), and the EV fleet."""

    entities: dict[str, list]
    sets: dict[str, Any]
    fleet: Any


@dataclass
class Grid:
    """The feeder's entities: one per LV bus (by bus name) and the feeder-wide ``grid``."""

    buses: dict[str, Any]
    grid: Any


@dataclass
class Hil:
    """The HIL bridges (by asset id), the OpenADR VEN and MQTT publisher where the
    scenario has them, and the entities the recorder takes the HIL series from.
    Empty for a scenario without HIL."""

    bridges: dict[str, Any] = field(default_factory=dict)
    ven: Any = None
    publisher: Any = None
    hil_set: Any = None
    clock: Any = None

    def device(self, asset, sim_entity):
        """Who stands for the asset in the power flow and before the control."""
        return self.bridges.get(asset.id, sim_entity)


@dataclass
class ControlEntities:
    """What a :class:`Control` created: one set-point source (``p_set_kw`` [kW]) per
    battery and per charger in asset order, the entity that takes the grid signals
    (None: the control takes none) and what the recorder takes from it."""

    batteries: list
    chargers: list
    site: Any = None
    recorded: list[tuple[Any, list[str]]] = field(default_factory=list)


class Control(Protocol):
    """What drives the batteries and chargers: the site controller (a strategy) or the
    prosumer agents trading on the market. ``kind`` names it (``"controller"`` or
    ``"market"``) for the parts of a run that differ by it (KPIs, report sections)."""

    kind: str

    def start(self, world: mosaik.World, scenario: Scenario, assets: dict,
              run_dir: Path) -> ControlEntities:
        """Start the control's simulators and create its entities."""
        ...

    def connect(self, world: mosaik.World, scenario: Scenario, assets: dict,
                devices: Devices, hil: Hil, ctl: ControlEntities) -> None:
        """Connect what the control reads (device states, its own simulators)."""
        ...


def start_sim(world: mosaik.World, scenario: Scenario, name: str, **params):
    """Start one simulator of ``SIM_CONFIG`` with the scenario (as JSON) and ``params``."""
    return world.start(name, scenario=scenario.model_dump(mode="json"), **params)


def create(model, ids: list[str]) -> list:
    """One entity per id of a model that takes an ``ids`` parameter."""
    return model.create(len(ids), ids=ids)


def asset_ids(assets: dict, kind: str) -> list[str]:
    return [a.id for a in assets[kind]]


def initial_states(scenario: Scenario, assets: dict) -> tuple[list[dict], list[dict]]:
    """Start-of-run outputs of every battery and every charger, for the time-shifted
    connections of their states into a control."""
    batteries = [battery_initial(a.spec, scenario.step_s) for a in assets["battery"]]
    chargers = ev_initial_outputs(scenario, assets["ev"], assets["ev_charger"])
    return batteries, chargers


class SiteControl:
    """The site controller: one strategy over every battery and charger, reading the PV,
    the loads and the devices' feasible windows; it records its plan where it has one."""

    kind = "controller"

    def start(self, world, scenario, assets, run_dir) -> ControlEntities:
        ctl = start_sim(world, scenario, "Controller")
        site = ctl.Site.create(1)[0]
        bat_ctl = create(ctl.BatteryCtl, asset_ids(assets, "battery"))
        ch_ctl = create(ctl.ChargerCtl, asset_ids(assets, "ev_charger"))
        recorded = [(site, ["inflexible_forecast_kw"])]
        if scenario.scheduling.strategy != "rule_based":  # the plan in force, per device
            recorded += [(entity, PLAN_ATTRS) for entity in [*bat_ctl, *ch_ctl]]
        return ControlEntities(bat_ctl, ch_ctl, site, recorded)

    def connect(self, world, scenario, assets, devices, hil, ctl) -> None:
        """A simulated device's power of the step; a real one's as last measured (the
        controller cannot know a real device's power before the step happens)."""
        for kind, attr, site_attr in (("pv", "p_avail_kw", "pv_p_kw"),
                                      ("load", "p_kw", "load_p_kw")):
            for asset, entity in zip(assets[kind], devices.entities[kind], strict=True):
                if asset.id in hil.bridges:
                    world.connect(hil.bridges[asset.id], ctl.site, (attr, site_attr),
                                  time_shifted=True, initial_data={attr: 0.0})
                else:
                    world.connect(entity, ctl.site, (attr, site_attr))
        bat_initial, ev_initial = initial_states(scenario, assets)
        for kind, attrs, initials, sources in (
            ("battery", BATTERY_STATE_ATTRS, bat_initial, ctl.batteries),
            ("ev_charger", CHARGER_STATE_ATTRS, ev_initial, ctl.chargers),
        ):
            for asset, entity, source, initial in zip(
                assets[kind], devices.entities[kind], sources, initials, strict=True
            ):
                world.connect(hil.device(asset, entity), source, *attrs, time_shifted=True,
                              initial_data={a: initial[a] for a in attrs})


class MarketControl:
    """The prosumer community (Mesa agents) trading on the market operator: the agents
    read every battery's energy and every charger's plugged EV at once, from the set
    entities; their trades become the set-points."""

    kind = "market"

    def start(self, world, scenario, assets, run_dir) -> ControlEntities:
        community_sim = start_sim(world, scenario, "Community")
        self.community = community_sim.Community.create(1)[0]
        bat_ctl = create(community_sim.BatteryAgent, asset_ids(assets, "battery"))
        ch_ctl = create(community_sim.ChargerAgent, asset_ids(assets, "ev_charger"))
        self.operator = start_sim(world, scenario, "Market",
                                  run_dir=str(run_dir)).Operator.create(1)[0]
        return ControlEntities(bat_ctl, ch_ctl)

    def connect(self, world, scenario, assets, devices, hil, ctl) -> None:
        world.connect(self.community, self.operator, "orders")
        world.connect(self.operator, self.community, "trades", time_shifted=True,
                      initial_data={"trades": []})
        bat_initial, ev_initial = initial_states(scenario, assets)
        if bat_initial:
            world.connect(devices.sets["battery"], self.community, "e_kwh", time_shifted=True,
                          initial_data={"e_kwh": [i["e_kwh"] for i in bat_initial]})
        if ev_initial:
            world.connect(devices.sets["ev_charger"], self.community, *PLUGGED_EV_ATTRS,
                          time_shifted=True,
                          initial_data={a: [i[a] for i in ev_initial] for a in PLUGGED_EV_ATTRS})


def control_for(scenario: Scenario) -> Control:
    """The scenario's control: the market's prosumer agents where it has a market, else
    the site controller running ``scheduling.strategy``. The one place this is chosen."""
    return SiteControl() if scenario.market is None else MarketControl()


# -- start --------------------------------------------------------------------------------
def start_devices(world: mosaik.World, scenario: Scenario, assets: dict) -> Devices:
    """PV, household loads, batteries, EV chargers and EVs, one entity per asset; one set
    entity per device class carries every device's outputs to the recorder."""
    pv_sim, load_sim = start_sim(world, scenario, "PV"), start_sim(world, scenario, "Load")
    bat_sim, ev_sim = start_sim(world, scenario, "Battery"), start_sim(world, scenario, "EV")
    entities = {
        "pv": create(pv_sim.PV, asset_ids(assets, "pv")),
        "load": create(load_sim.Household, asset_ids(assets, "load")),
        "battery": create(bat_sim.Battery, asset_ids(assets, "battery")),
        "ev_charger": create(ev_sim.Charger, asset_ids(assets, "ev_charger")),
    }
    create(ev_sim.EV, asset_ids(assets, "ev"))  # recorded through their set
    fleet = ev_sim.Fleet.create(1)[0]
    sets = {
        "pv": pv_sim.PVSet.create(1)[0], "load": load_sim.HouseholdSet.create(1)[0],
        "battery": bat_sim.BatterySet.create(1)[0],
        "ev_charger": ev_sim.ChargerSet.create(1)[0], "ev": ev_sim.EVSet.create(1)[0],
    }
    return Devices(entities, sets, fleet)


def start_feeder(world: mosaik.World, scenario: Scenario) -> Grid:
    """The feeder's power flow: one entity per LV bus and the feeder-wide results."""
    feeder_sim = start_sim(world, scenario, "Feeder")
    bus_names = scenario.grid.lv_bus_names()
    buses = dict(zip(bus_names, feeder_sim.Bus.create(len(bus_names)), strict=True))
    return Grid(buses, feeder_sim.Grid.create(1)[0])


def start_hil(world: mosaik.World, scenario: Scenario, assets: dict, run_dir: Path,
              origin_file: Path | None = None) -> Hil:
    """The bridge of every HIL asset, the VEN and the publisher where the scenario has
    them (none for a scenario without HIL). ``origin_file``: where the run writes its
    first step's wall time, for the emulators it started (:mod:`hil.origin`)."""
    if not scenario.is_hil:
        return Hil()
    sim = start_sim(world, scenario, "Hil", run_dir=str(run_dir),
                    origin_file=None if origin_file is None else str(origin_file))
    hil, devices = Hil(), hil_assets(assets)
    for kind, model in HIL_MODELS.items():
        ids = [a.id for a in devices if a.kind == kind]
        if ids:
            hil.bridges.update(zip(ids, create(getattr(sim, model), ids), strict=True))
    hil.hil_set, hil.clock = sim.HilSet.create(1)[0], sim.Clock.create(1)[0]
    if scenario.hil.openadr is not None:
        hil.ven = sim.Ven.create(1)[0]
    if scenario.hil.mqtt.publish:
        hil.publisher = sim.Publisher.create(1)[0]
    return hil


def start_recorder(world: mosaik.World, scenario: Scenario, assets: dict, run_dir: Path,
                   devices: Devices, progress: bool = False):
    """The recorder, with the labels that turn list-valued attributes into columns."""
    return world.start(
        "Recorder", run_dir=str(run_dir), start=scenario.start.isoformat(),
        step_s=scenario.step_s, flush_every_steps=scenario.outputs.flush_every_steps,
        flush_interval_s=scenario.outputs.flush_interval_s,
        progress=progress, n_steps=scenario.n_steps, label=scenario.name,
        labels={"vm_pu_bus": scenario.grid.lv_bus_names(),
                "line_loading_percent": line_names(scenario)},
        set_labels={**{entity.eid: asset_ids(assets, kind)
                       for kind, entity in devices.sets.items()},
                    "hilset": hil_device_ids(assets)},
    ).Recorder.create(1)[0]


# -- connect ------------------------------------------------------------------------------
def connect_power_flow(world: mosaik.World, assets: dict, devices: Devices, grid: Grid,
                       hil: Hil) -> None:
    """Every device's power into its bus (a HIL device's as measured)."""
    for kind in ("pv", "load", "battery", "ev_charger"):
        attrs = ("p_kw", "q_kvar") if kind == "load" else ("p_kw",)
        for asset, entity in zip(assets[kind], devices.entities[kind], strict=True):
            world.connect(hil.device(asset, entity), grid.buses[asset.bus], *attrs)


def connect_setpoints(world: mosaik.World, assets: dict, devices: Devices, hil: Hil,
                      ctl: ControlEntities) -> None:
    """The control's set-points into the simulated devices and the HIL bridges (a HIL
    device's twin follows the same set-points)."""
    for kind, sources in (("battery", ctl.batteries), ("ev_charger", ctl.chargers)):
        for asset, entity, source in zip(assets[kind], devices.entities[kind], sources,
                                         strict=True):
            world.connect(source, entity, "p_set_kw")
            if asset.id in hil.bridges:
                world.connect(source, hil.bridges[asset.id], "p_set_kw")


def connect_grid_signals(world: mosaik.World, devices: Devices, grid: Grid, hil: Hil,
                         ctl: ControlEntities) -> None:
    """The OpenADR VEN's grid signals into the control's site, and what the VEN needs
    for its opt-in decisions (the site's import and what it could shed)."""
    if hil.ven is None:
        return
    world.connect(grid.grid, hil.ven, ("p_import_kw", "site_p_kw"), time_shifted=True,
                  initial_data={"p_import_kw": 0.0})
    world.connect(hil.ven, ctl.site, "grid_signals", time_shifted=True,
                  initial_data={"grid_signals": []})
    world.connect(devices.sets["battery"], hil.ven, ("p_kw", "battery_p_kw"),
                  ("p_discharge_avail_kw", "battery_discharge_kw"))
    world.connect(devices.sets["ev_charger"], hil.ven, ("p_kw", "charger_p_kw"))


def connect_telemetry(world: mosaik.World, devices: Devices, hil: Hil) -> None:
    """Each device class's power to the MQTT publisher, where the scenario publishes."""
    if hil.publisher is None:
        return
    for kind, attr in (("pv", "pv_p_kw"), ("load", "load_p_kw"),
                       ("battery", "battery_p_kw"), ("ev_charger", "ev_charger_p_kw")):
        world.connect(devices.sets[kind], hil.publisher, ("p_kw", attr))


def connect_recording(world: mosaik.World, scenario: Scenario, devices: Devices, grid: Grid,
                      hil: Hil, ctl: ControlEntities, recorder) -> None:
    """Everything the run records: the HIL series and lag, every device class at the
    scenario's ``outputs.detail``, the EV fleet, the feeder and the control's own."""
    if hil.hil_set is not None:
        world.connect(hil.hil_set, recorder, *HIL_ATTRS)
        world.connect(hil.clock, recorder, "lag_s")
    if hil.ven is not None:
        world.connect(hil.ven, recorder, "site_limit_kw", "price_eur_per_kwh")
    rec = RECORDED[scenario.outputs.detail]
    for kind, entity in devices.sets.items():
        world.connect(entity, recorder, *rec[kind])
    world.connect(devices.fleet, recorder, "n_plugged", "n_waiting", "events")
    world.connect(grid.grid, recorder, *GRID_ATTRS)
    for entity, attrs in ctl.recorded:
        world.connect(entity, recorder, *attrs)


# -- the scenario -------------------------------------------------------------------------
def build_world(
    scenario: Scenario, run_dir: Path, progress: bool = False,
    hil_origin_file: Path | None = None,
) -> tuple[mosaik.World, int]:
    """Create and connect every simulator; returns the world and the end time [s].
    ``hil_origin_file``: where a HIL run writes its first step's wall time, for the
    emulators it started (:mod:`hil.origin`)."""
    world = mosaik.World(SIM_CONFIG, debug=False, skip_greetings=True, configure_logging=False)
    assets = resolve_assets(scenario)
    control = control_for(scenario)

    devices = start_devices(world, scenario, assets)
    grid = start_feeder(world, scenario)
    hil = start_hil(world, scenario, assets, run_dir, hil_origin_file)
    ctl = control.start(world, scenario, assets, run_dir)
    recorder = start_recorder(world, scenario, assets, run_dir, devices, progress)

    connect_power_flow(world, assets, devices, grid, hil)
    control.connect(world, scenario, assets, devices, hil, ctl)
    connect_setpoints(world, assets, devices, hil, ctl)
    connect_grid_signals(world, devices, grid, hil, ctl)
    connect_telemetry(world, devices, hil)
    connect_recording(world, scenario, devices, grid, hil, ctl, recorder)
    return world, scenario.duration_s


def line_names(scenario: Scenario) -> list[str]:
    g = scenario.grid
    return [f"f{f}_l{k}" for f in range(1, g.n_feeders + 1) for k in range(1, g.buses_per_feeder + 1)]


def hil_device_ids(assets: dict) -> list[str]:
    """The HIL assets' ids in the order of the ``HilSet`` lists."""
    return [a.id for a in hil_assets(assets)]
