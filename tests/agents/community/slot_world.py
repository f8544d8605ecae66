"""The P2P market with the community and the operator in one simulator, wired into twin.world.

``agents.community.mosaik.CommunityMarketSim`` runs a slot's ticks inside one mosaik step;
``twin.world`` still wires the two tick-stepped adapters (its owner switches it over).
Until then this module wires the combined one in, for the coupling test and the
benchmarks: :class:`SlotMarketControl` is ``MarketControl`` with one simulator (the same
entities, no orders/trades connection), and :func:`use_slot_market` makes ``twin.world``
pick it for every market scenario.
"""

from __future__ import annotations

from simulators.ev.mosaik import PLUGGED_EV_ATTRS
from twin import world as tw

SIM = {"CommunityMarket": {"python": "agents.community.mosaik:CommunityMarketSim"}}


class SlotMarketControl(tw.MarketControl):
    """The prosumer community and the market operator in one simulator."""

    def start(self, world, scenario, assets, run_dir) -> tw.ControlEntities:
        sim = tw.start_sim(world, scenario, "CommunityMarket", run_dir=str(run_dir))
        self.community = sim.Community.create(1)[0]
        bat_ctl = tw.create(sim.BatteryAgent, tw.asset_ids(assets, "battery"))
        ch_ctl = tw.create(sim.ChargerAgent, tw.asset_ids(assets, "ev_charger"))
        self.operator = sim.Operator.create(1)[0]
        return tw.ControlEntities(bat_ctl, ch_ctl)

    def connect(self, world, scenario, assets, devices, hil, ctl) -> None:
        bat_initial, ev_initial = tw.initial_states(scenario, assets)
        if bat_initial:
            world.connect(devices.sets["battery"], self.community, "e_kwh", time_shifted=True,
                          initial_data={"e_kwh": [i["e_kwh"] for i in bat_initial]})
        if ev_initial:
            world.connect(devices.sets["ev_charger"], self.community, *PLUGGED_EV_ATTRS,
                          time_shifted=True,
                          initial_data={a: [i[a] for i in ev_initial] for a in PLUGGED_EV_ATTRS})


def _control_for(scenario):
    return tw.SiteControl() if scenario.market is None else SlotMarketControl()


def use_slot_market(monkeypatch=None) -> None:
    """Make ``twin.world.build_world`` use :class:`SlotMarketControl` for markets (through
    pytest's ``monkeypatch`` when given, so that a test undoes it)."""
    if monkeypatch is None:
        tw.SIM_CONFIG.update(SIM)
        tw.control_for = _control_for
        return
    for name, config in SIM.items():
        monkeypatch.setitem(tw.SIM_CONFIG, name, config)
    monkeypatch.setattr(tw, "control_for", _control_for)

