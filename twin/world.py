"""World assembly: the scenario's simulators started, connected and run in mosaik.

Sign convention: positive = consumption / charging / import, on every connection.

Data flow of one step ``[t, t + step)``::

    Battery / EV state (end of the previous step, time-shifted) ──> Controller (strategy)
    Controller ──p_set_kw──> Site: PV, loads, batteries, EV fleet ──p_kw──> AC power flow
    everything ──> Recorder (Parquet parts)

The site (every simulated device and the feeder) is one simulator, and every connection
carries lists over a device class (set entities): mosaik's cost per step grows with the
number of simulators and connections, not with the size of the lists. The controller
reads the PV's and the loads' power of the step from the exogenous series; a HIL
device's measured values replace its simulated twin's, in the power flow and before
the control (lists over the HIL devices, ``hil_*`` attributes).

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

from agents.control.mosaik import BATTERY_STATE_ATTRS, CHARGER_STATE_ATTRS, PLAN_ATTRS
from hil.mosaik import HIL_ATTRS
from hil.mosaik import MODELS as HIL_MODELS
from simulators.battery.part import ATTRS as BATTERY_ATTRS
from simulators.battery.part import initial_outputs as battery_initial
from simulators.ev.part import CHARGER_ATTRS, EV_ATTRS, PLUGGED_EV_ATTRS
from simulators.ev.part import initial_outputs as ev_initial_outputs
from simulators.feeder.part import GRID_ATTRS
from twin.scenario.assets import hil_assets, resolve_assets
from twin.scenario.schema import Scenario

SIM_CONFIG = {
    "Site": {"python": "simulators.site.mosaik:SiteSim"},
    "Controller": {"python": "agents.control.mosaik:ControllerSim"},
    "CommunityMarket": {"python": "agents.community.mosaik:CommunityMarketSim"},
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
# the site simulator's set entity of each asset kind
SITE_SETS = {"pv": "PVSet", "load": "HouseholdSet", "battery": "BatterySet",
             "ev_charger": "ChargerSet", "ev": "EVSet"}


@dataclass
class Site:
    """The site simulator's entities: one set entity per device class (its attributes
    are lists over the class's assets in resolve order), the EV fleet and the feeder's
    ``grid``."""

    sets: dict[str, Any]
    fleet: Any
    grid: Any


@dataclass
class Hil:
    """The HIL bridges (by asset id), the OpenADR VEN and MQTT publisher where the
    scenario has them, and ``hil_set``, whose lists over the HIL devices are what the
    world connects (measured values in, set-points out, the HIL series recorded).
    Empty for a scenario without HIL."""

    bridges: dict[str, Any] = field(default_factory=dict)
    ven: Any = None
    publisher: Any = None
    hil_set: Any = None
    clock: Any = None


@dataclass
class ControlEntities:
    """What a :class:`Control` created: the set entities whose ``p_set_kw`` [kW] lists
    are the set-points of every battery and every charger (asset order), the entity that
    takes the grid signals (None: the control takes none) and what the recorder takes
    from it."""

    batteries: Any
    chargers: Any
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
                site: Site, hil: Hil, ctl: ControlEntities) -> None:
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


def battery_initials(scenario: Scenario, assets: dict) -> list[dict]:
    """Start-of-run outputs of every battery."""
    return [battery_initial(a.spec, scenario.step_s) for a in assets["battery"]]


def initial_states(scenario: Scenario, assets: dict) -> tuple[list[dict], list[dict]]:
    """Start-of-run outputs of every battery and every charger, for the time-shifted
    connections of their states into a control (the chargers' build the EV fleet)."""
    chargers = ev_initial_outputs(scenario, assets["ev"], assets["ev_charger"])
    return battery_initials(scenario, assets), chargers


def as_lists(rows: list[dict], attrs: list[str]) -> dict[str, list]:
    """Per-device initial values as one list per attribute (a set entity's initial data)."""
    return {a: [row.get(a, float("nan")) for row in rows] for a in attrs}


def hil_initial(assets: dict, bat: list[dict], ch: list[dict]) -> list[dict]:
    """Each HIL device's start-of-run values before its first measurement: its simulated
    twin's initial state (``bat``, ``ch``: :func:`initial_states`), 0 kW for PV and loads."""
    by_id = {**{a.id: row for a, row in zip(assets["battery"], bat, strict=True)},
             **{a.id: row for a, row in zip(assets["ev_charger"], ch, strict=True)}}
    return [by_id.get(a.id, {"p_avail_kw": 0.0, "p_kw": 0.0}) for a in hil_assets(assets)]


class SiteControl:
    """The site controller: one strategy over every battery and charger, reading the
    devices' feasible windows (the PV and loads it reads from the exogenous series, HIL
    devices as last measured); it records its plan where it has one."""

    kind = "controller"

    def start(self, world, scenario, assets, run_dir) -> ControlEntities:
        ctl = start_sim(world, scenario, "Controller")
        site = ctl.Site.create(1)[0]
        create(ctl.BatteryCtl, asset_ids(assets, "battery"))
        create(ctl.ChargerCtl, asset_ids(assets, "ev_charger"))
        batteries, chargers = ctl.BatteryCtlSet.create(1)[0], ctl.ChargerCtlSet.create(1)[0]
        recorded = [(site, ["inflexible_forecast_kw"])]
        if scenario.scheduling.strategy != "rule_based":  # the plan in force, per device
            recorded += [(batteries, PLAN_ATTRS), (chargers, PLAN_ATTRS)]
        return ControlEntities(batteries, chargers, site, recorded)

    def connect(self, world, scenario, assets, site, hil, ctl) -> None:
        """The devices' states at the end of the previous step (time-shifted); a HIL
        device's as last measured (the controller cannot know a real device's power
        before the step happens)."""
        bat_initial, ev_initial = initial_states(scenario, assets)
        for kind, attrs, initials, target in (
            ("battery", BATTERY_STATE_ATTRS, bat_initial, ctl.batteries),
            ("ev_charger", CHARGER_STATE_ATTRS, ev_initial, ctl.chargers),
        ):
            world.connect(site.sets[kind], target, *attrs, time_shifted=True,
                          initial_data=as_lists(initials, attrs))
        if hil.hil_set is None:
            return
        hil_rows = hil_initial(assets, bat_initial, ev_initial)
        for attrs, target in ((BATTERY_STATE_ATTRS, ctl.batteries),
                              (CHARGER_STATE_ATTRS, ctl.chargers),
                              (["p_avail_kw", "p_kw"], ctl.site)):
            world.connect(hil.hil_set, target, *((a, f"hil_{a}") for a in attrs),
                          time_shifted=True, initial_data=as_lists(hil_rows, attrs))


class MarketControl:
    """The prosumer community (Mesa agents) trading on the market operator: the agents
    read every battery's energy and every charger's plugged EV at once, from the set
    entities; their trades become the set-points.

    As fast as it goes, the community and the operator are one simulator stepped once a
    slot, running the slot's ticks inside the step (mosaik's cost is per step); a run in
    real time (HIL) keeps them apart, stepped tick by tick, so that each tick clears at
    its own wall-clock time."""

    kind = "market"

    def __init__(self, ticked: bool = False):
        self.ticked = ticked

    def start(self, world, scenario, assets, run_dir) -> ControlEntities:
        if self.ticked:
            sim = start_sim(world, scenario, "Community")
            self.operator = start_sim(world, scenario, "Market",
                                      run_dir=str(run_dir)).Operator.create(1)[0]
        else:
            sim = start_sim(world, scenario, "CommunityMarket", run_dir=str(run_dir))
            self.operator = sim.Operator.create(1)[0]
        self.community = sim.Community.create(1)[0]
        create(sim.BatteryAgent, asset_ids(assets, "battery"))
        create(sim.ChargerAgent, asset_ids(assets, "ev_charger"))
        return ControlEntities(sim.BatteryAgentSet.create(1)[0], sim.ChargerAgentSet.create(1)[0])

    def connect(self, world, scenario, assets, site, hil, ctl) -> None:
        if self.ticked:
            world.connect(self.community, self.operator, "orders")
            world.connect(self.operator, self.community, "trades", time_shifted=True,
                          initial_data={"trades": []})
        bat_initial, ev_initial = initial_states(scenario, assets)
        if bat_initial:
            world.connect(site.sets["battery"], self.community, "e_kwh", time_shifted=True,
                          initial_data=as_lists(bat_initial, ["e_kwh"]))
        if ev_initial:
            world.connect(site.sets["ev_charger"], self.community, *PLUGGED_EV_ATTRS,
                          time_shifted=True, initial_data=as_lists(ev_initial, PLUGGED_EV_ATTRS))


def control_for(scenario: Scenario) -> Control:
    """The scenario's control: the market's prosumer agents where it has a market, else
    the site controller running ``scheduling.strategy``. The one place this is chosen."""
    if scenario.market is None:
        return SiteControl()
    return MarketControl(ticked=scenario.is_hil)


# -- start --------------------------------------------------------------------------------
def start_site(world: mosaik.World, scenario: Scenario) -> Site:
    """The site simulator: PV, household loads, batteries, the EV fleet and the feeder's
    power flow, one set entity per device class."""
    sim = start_sim(world, scenario, "Site")
    sets = {kind: getattr(sim, model).create(1)[0] for kind, model in SITE_SETS.items()}
    return Site(sets, sim.Fleet.create(1)[0], sim.Grid.create(1)[0])


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
                   site: Site, ctl: ControlEntities, progress: bool = False):
    """The recorder, with the labels that turn list-valued attributes into columns."""
    set_labels = {entity.eid: asset_ids(assets, kind) for kind, entity in site.sets.items()}
    set_labels.update({ctl.batteries.eid: asset_ids(assets, "battery"),
                       ctl.chargers.eid: asset_ids(assets, "ev_charger"),
                       "hilset": hil_device_ids(assets)})
    return world.start(
        "Recorder", run_dir=str(run_dir), start=scenario.start.isoformat(),
        step_s=scenario.step_s, flush_every_steps=scenario.outputs.flush_every_steps,
        flush_interval_s=scenario.outputs.flush_interval_s,
        progress=progress, n_steps=scenario.n_steps, label=scenario.name,
        labels={"vm_pu_bus": scenario.grid.lv_bus_names(),
                "line_loading_percent": line_names(scenario)},
        set_labels=set_labels,
    ).Recorder.create(1)[0]


# -- connect ------------------------------------------------------------------------------
def connect_power_flow(world: mosaik.World, site: Site, hil: Hil) -> None:
    """The HIL devices' measured power into the power flow, in place of their twins'."""
    if hil.hil_set is not None:
        world.connect(hil.hil_set, site.grid, ("p_kw", "hil_p_kw"), ("q_kvar", "hil_q_kvar"))


def connect_setpoints(world: mosaik.World, site: Site, hil: Hil, ctl: ControlEntities) -> None:
    """The control's set-points into the simulated devices and the HIL bridges (a HIL
    device's twin follows the same set-points)."""
    world.connect(ctl.batteries, site.sets["battery"], "p_set_kw")
    world.connect(ctl.chargers, site.sets["ev_charger"], "p_set_kw")
    if hil.hil_set is not None:
        world.connect(ctl.batteries, hil.hil_set, ("p_set_kw", "battery_p_set_kw"))
        world.connect(ctl.chargers, hil.hil_set, ("p_set_kw", "charger_p_set_kw"))


def connect_grid_signals(world: mosaik.World, scenario: Scenario, assets: dict, site: Site,
                         hil: Hil, ctl: ControlEntities) -> None:
    """The OpenADR VEN's grid signals into the control's site, and what the VEN needs
    for its opt-in decisions: the site's import, the batteries' and chargers' power over
    the last step and what the batteries can discharge over the next (time-shifted: the
    HIL devices' measurements go into the site's power flow, so the site's outputs reach
    the HIL simulator one step later)."""
    if hil.ven is None:
        return
    bat_initial = battery_initials(scenario, assets)
    n_bat, n_ch = len(assets["battery"]), len(assets["ev_charger"])
    world.connect(site.grid, hil.ven, ("p_import_kw", "site_p_kw"), time_shifted=True,
                  initial_data={"p_import_kw": 0.0})
    world.connect(hil.ven, ctl.site, "grid_signals", time_shifted=True,
                  initial_data={"grid_signals": []})
    world.connect(site.sets["battery"], hil.ven, ("p_kw", "battery_p_kw"),
                  ("p_discharge_avail_kw", "battery_discharge_kw"), time_shifted=True,
                  initial_data={"p_kw": [0.0] * n_bat,
                                **as_lists(bat_initial, ["p_discharge_avail_kw"])})
    world.connect(site.sets["ev_charger"], hil.ven, ("p_kw", "charger_p_kw"),
                  time_shifted=True, initial_data={"p_kw": [0.0] * n_ch})


def connect_telemetry(world: mosaik.World, assets: dict, site: Site, hil: Hil) -> None:
    """Each device class's power to the MQTT publisher, where the scenario publishes; a
    step's power is known at its end: it reaches the publisher at the next step
    (time-shifted), which publishes it stamped with the step's start."""
    if hil.publisher is None:
        return
    for kind, attr in (("pv", "pv_p_kw"), ("load", "load_p_kw"),
                       ("battery", "battery_p_kw"), ("ev_charger", "ev_charger_p_kw")):
        world.connect(site.sets[kind], hil.publisher, ("p_kw", attr), time_shifted=True,
                      initial_data={"p_kw": [0.0] * len(assets[kind])})


def connect_recording(world: mosaik.World, scenario: Scenario, site: Site, hil: Hil,
                      ctl: ControlEntities, recorder) -> None:
    """Everything the run records: the HIL series and lag, every device class at the
    scenario's ``outputs.detail``, the EV fleet, the feeder and the control's own."""
    if hil.hil_set is not None:
        world.connect(hil.hil_set, recorder, *HIL_ATTRS)
        world.connect(hil.clock, recorder, "lag_s")
    if hil.ven is not None:
        world.connect(hil.ven, recorder, "site_limit_kw", "price_eur_per_kwh")
    rec = RECORDED[scenario.outputs.detail]
    for kind, entity in site.sets.items():
        world.connect(entity, recorder, *rec[kind])
    world.connect(site.fleet, recorder, "n_plugged", "n_waiting", "events")
    world.connect(site.grid, recorder, *GRID_ATTRS)
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

    site = start_site(world, scenario)
    hil = start_hil(world, scenario, assets, run_dir, hil_origin_file)
    ctl = control.start(world, scenario, assets, run_dir)
    recorder = start_recorder(world, scenario, assets, run_dir, site, ctl, progress)

    connect_power_flow(world, site, hil)
    control.connect(world, scenario, assets, site, hil, ctl)
    connect_setpoints(world, site, hil, ctl)
    connect_grid_signals(world, scenario, assets, site, hil, ctl)
    connect_telemetry(world, assets, site, hil)
    connect_recording(world, scenario, site, hil, ctl, recorder)
    return world, scenario.duration_s


def line_names(scenario: Scenario) -> list[str]:
    g = scenario.grid
    return [f"f{f}_l{k}" for f in range(1, g.n_feeders + 1) for k in range(1, g.buses_per_feeder + 1)]


def hil_device_ids(assets: dict) -> list[str]:
    """The HIL assets' ids in the order of the ``HilSet`` lists."""
    return [a.id for a in hil_assets(assets)]
