"""mosaik adapter of the prosumer community (Mesa model). No strategy logic here.

Entities: one ``Community`` (inputs: the market's ``trades`` of the last tick, and
from the battery and charger set entities every battery's ``e_kwh`` and every
charger's plugged-EV view as lists in asset order, all time-shifted; output: the
agents' ``orders`` of this tick), one ``BatteryAgent`` per battery and one
``ChargerAgent`` per EV charger (output: ``p_set_kw``). It steps once per market tick.

:class:`CommunityMarketSim` hosts the market operator as well (the same entities plus
one ``Operator``): it steps once per slot and runs the slot's ticks in process, the
agents' orders to the operator's book and its trades back to the agents, in the same
order and with the same generators as the two adapters stepped tick by tick through
mosaik, so the trades and set-points are the same; only mosaik's per-tick scheduling
(two simulator steps and two data exchanges a tick) is gone.
"""

from __future__ import annotations

import pandas as pd
from mosaik_api_v3.types import Meta

from agents.community.agents import BatteryUnit, ChargerUnit
from agents.community.model import Community, Member
from agents.community.planning import make_planner, planned_kw
from agents.market.mosaik import MarketOperator
from agents.market.pricing import Limits, Pricing
from simulators.base import ArraySimulator, meta
from simulators.ev.part import PLUGGED_EV_ATTRS
from twin import inputs as scenario_inputs
from twin.rng import stream
from twin.scenario.assets import resolve_assets
from twin.scenario.participants import market_tree, resolve_participants

META: Meta = meta(
    "Community", ["orders", "trades", "e_kwh", *PLUGGED_EV_ATTRS],
    extra={
        "BatteryAgent": {"public": True, "params": ["ids"], "trigger": [],
                         "attrs": ["p_set_kw"]},
        "ChargerAgent": {"public": True, "params": ["ids"], "trigger": [],
                         "attrs": ["p_set_kw"]},
    },
    sets=("BatteryAgent", "ChargerAgent"),
)


def battery_unit(asset) -> BatteryUnit:
    s = asset.spec
    return BatteryUnit(asset.id, s.capacity_kwh * s.soc_min_percent / 100.0,
                       s.capacity_kwh * s.soc_max_percent / 100.0, s.p_charge_max_kw,
                       s.p_discharge_max_kw, s.eta_charge, s.eta_discharge,
                       s.capacity_kwh * s.soc_initial_percent / 100.0)


def slot_limits(tree, participants, tariff_ct_per_kwh, feed_in_ct_per_kwh: float):
    """``limits(slot) -> {house: Limits}``: each house's market-maker limits in a slot."""

    by_rate: dict[float, dict[str, Limits]] = {}  # the tariff takes a few values

    def limits(slot: int) -> dict[str, Limits]:
        rate = tariff_ct_per_kwh[min(slot, len(tariff_ct_per_kwh) - 1)]
        if rate not in by_rate:
            by_rate[rate] = {p.id: Limits(*tree.limits_at(p.id, rate, feed_in_ct_per_kwh))
                             for p in participants}
        return by_rate[rate]

    return limits


def participant_planner(scenario, p, load_kw, pv_kw, price_eur, feed_in_eur):
    """The participant's storage plan as ``planner(agent, slot) -> {device: kW}``."""
    sc = scenario
    start = pd.Timestamp(sc.start).tz_convert(sc.site.timezone)
    plan = make_planner(p.assets.get("battery", []), p.assets.get("ev_charger", []),
                        load_kw, pv_kw, price_eur, feed_in_eur, sc.step_s,
                        start + pd.Timedelta(seconds=sc.duration_s))

    def planner(agent, slot: int) -> dict[str, float]:
        k = min(slot, len(load_kw) - 1)
        when = (start + pd.Timedelta(seconds=slot * sc.step_s)).to_pydatetime()
        return planned_kw(plan, slot, when, sc.step_s, agent.batteries, agent.chargers,
                          agent.setpoint_kw, float(load_kw[k]), float(pv_kw[k]),
                          float(price_eur[k]), feed_in_eur)

    return planner


def members(scenario, participants, tariff_ct_per_kwh, feed_in_ct_per_kwh: float) -> list:
    """Each participant as the community's :class:`Member`: its pricing, its forecast
    load and PV per slot [kWh] summed over its assets, its devices and its planner."""
    sc, mk = scenario, scenario.market
    dt_h = sc.step_s / 3600.0
    load_kwh = scenario_inputs.household_load_kw(sc) * dt_h
    pv_kwh = scenario_inputs.pv_available_kw(sc) * dt_h
    assets = resolve_assets(sc)
    columns = {kind: {a.id: i for i, a in enumerate(assets[kind])} for kind in ("load", "pv")}
    strategies = {s.strategy: s for s in mk.strategies}
    out = []
    for p in participants:
        s = strategies[p.strategy]
        pricing = Pricing(s.strategy, s.update_interval_s, s.fit_to_limit,
                          s.change_per_update_ct_per_kwh)
        bats = [battery_unit(a) for a in p.assets.get("battery", [])]
        chs = [ChargerUnit(a.id, a.spec.p_max_kw) for a in p.assets.get("ev_charger", [])]
        load = load_kwh[:, [columns["load"][a] for a in p.ids("load")]].sum(axis=1)
        pv = pv_kwh[:, [columns["pv"][a] for a in p.ids("pv")]].sum(axis=1)
        planner = participant_planner(sc, p, load / dt_h, pv / dt_h, tariff_ct_per_kwh / 100.0,
                                      feed_in_ct_per_kwh / 100.0) \
            if mk.flex == "scheduler" and (bats or chs) else None
        out.append(Member(p.id, p.type, pricing, load, pv, bats, chs,
                          stream(sc.seed, f"pricing.{p.id}"), planner))
    return out


class CommunitySim(ArraySimulator):
    kinds = {"BatteryAgent": "battery", "ChargerAgent": "ev_charger"}

    def __init__(self):
        super().__init__(META)
        self.orders: list = []

    def setup(self):
        sc, mk = self.scenario, self.scenario.market
        participants = resolve_participants(sc)
        tariff, feed_in = scenario_inputs.prices_ct_per_kwh(sc)
        limits = slot_limits(market_tree(sc, participants), participants, tariff, feed_in)
        self.model = Community(mk.slot_s, mk.ticks_per_slot, limits,
                               members=members(sc, participants, tariff, feed_in),
                               rng=stream(sc.seed, "community"))
        self.step_s = self.model.clock.tick_s

    def advance(self, time, inputs):
        got = inputs.get("community", {})
        self._observe(time, got)
        trades = [t for v in got.get("trades", {}).values() for t in (v or [])]
        self.orders = self.model.step_at(time, trades)

    def _observe(self, time: int, got: dict) -> None:
        if self.model.clock.is_slot_start(time):  # device states matter at slot starts
            self.model.observe(self._e_kwh(got), self._ev_views(got))

    def _e_kwh(self, got: dict) -> dict[str, float]:
        """Every battery's stored energy [kWh] from the battery set's list (asset order)."""
        if "e_kwh" not in got:
            return {}
        (e,) = got["e_kwh"].values()  # one source: the battery set, in asset order
        return {a.id: float(value)
                for a, value in zip(self.assets.get("BatteryAgent", []), e, strict=True)}

    def _ev_views(self, got: dict) -> dict[str, dict[str, float]]:
        """Every charger's plugged-EV view from the charger set's lists (asset order)."""
        views = {a[3:]: next(iter(got[a].values())) for a in PLUGGED_EV_ATTRS if a in got}
        return {a.id: {k: float(v[j]) for k, v in views.items()}
                for j, a in enumerate(self.assets.get("ChargerAgent", []) if views else [])}

    def outputs(self, model, attr):
        if model == "Community":
            return [self.orders if attr == "orders" else []]
        return self.model.setpoints_kw([a.id for a in self.assets[model]])


COMBINED_META: Meta = meta(
    "Community", ["orders", "trades", "e_kwh", *PLUGGED_EV_ATTRS],
    extra={**{m: META["models"][m] for m in ("BatteryAgent", "ChargerAgent")},
           "Operator": {"public": True, "params": ["ids"], "trigger": [],
                        "attrs": ["orders", "trades"]}},
    sets=("BatteryAgent", "ChargerAgent"),
)


class CommunityMarketSim(CommunitySim):
    """The community and the market operator in one simulator, stepped once per slot.

    Parameters (``init``): the scenario and ``run_dir`` (the operator's records), as
    for the two adapters. Inputs and outputs are those of ``Community``, ``BatteryAgent``
    and ``ChargerAgent``; ``Community.orders`` and ``Operator.trades`` hold the orders
    and trades of the step's last tick (nothing needs to connect them: the ticks run
    inside the step).
    """

    def __init__(self):
        super().__init__()
        self.meta = COMBINED_META
        self.trades: list = []  # the last tick's trades, for the agents' next tick

    def setup(self):
        super().setup()
        self.operator = MarketOperator(self.scenario, self.params["run_dir"])
        if self.operator.clock != self.model.clock:
            raise ValueError("the community and the market run on one market clock")
        self.step_s = self.model.clock.slot_s

    def advance(self, time, inputs):
        self._observe(time, inputs.get("community", {}))
        model, operator, trades = self.model, self.operator, self.trades
        tick_s = model.clock.tick_s
        for tick_time in range(time, time + self.step_s, tick_s):
            orders = model.step_at(tick_time, trades)
            trades = operator.tick_at(tick_time, orders)
        self.orders, self.trades = orders, trades

    def outputs(self, model, attr):
        if model == "Operator":
            return [self.trades if attr == "trades" else []]
        return super().outputs(model, attr)

    def finalize(self):
        if self._ready:
            self.operator.flush()
