"""mosaik adapter of the prosumer community (Mesa model). No strategy logic here.

Entities: one ``Community`` (inputs: the market's ``trades`` of the last tick, and
from the battery and charger set entities every battery's ``e_kwh`` and every
charger's plugged-EV view as lists in asset order, all time-shifted; output: the
agents' ``orders`` of this tick), one ``BatteryAgent`` per battery and one
``ChargerAgent`` per EV charger (output: ``p_set_kw``). It steps once per market tick.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from mosaik_api_v3.types import Meta

from agents.community.agents import BatteryUnit, ChargerUnit, Prosumer
from agents.community.model import Community
from agents.community.planning import make_planner, planned_kw
from agents.market.pricing import Limits, Pricing
from simulators.base import ArraySimulator, meta
from simulators.ev.mosaik import PLUGGED_EV_ATTRS
from twin import inputs as scenario_inputs
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
)


def battery_unit(asset) -> BatteryUnit:
    s = asset.spec
    return BatteryUnit(asset.id, s.capacity_kwh * s.soc_min_percent / 100.0,
                       s.capacity_kwh * s.soc_max_percent / 100.0, s.p_charge_max_kw,
                       s.p_discharge_max_kw, s.eta_charge, s.eta_discharge,
                       s.capacity_kwh * s.soc_initial_percent / 100.0)


class CommunitySim(ArraySimulator):
    kinds = {"BatteryAgent": "battery", "ChargerAgent": "ev_charger"}

    def __init__(self):
        super().__init__(META)
        self.orders: list = []

    def setup(self):
        sc, mk = self.scenario, self.scenario.market
        participants = resolve_participants(sc)
        tree = market_tree(sc, participants)
        tariff, feed_in = scenario_inputs.prices_ct_per_kwh(sc)

        def limits(slot: int) -> dict[str, Limits]:
            rate = tariff[min(slot, len(tariff) - 1)]
            return {p.id: Limits(*tree.limits_at(p.id, rate, feed_in)) for p in participants}

        self.model = Community(mk.slot_s, mk.ticks_per_slot, limits, seed=sc.seed)
        self.step_s = self.model.clock.tick_s
        dt_h = sc.step_s / 3600.0
        load_kwh = scenario_inputs.household_load_kw(sc) * dt_h
        pv_kwh = scenario_inputs.pv_available_kw(sc) * dt_h
        assets = resolve_assets(sc)
        columns = {kind: {a.id: i for i, a in enumerate(assets[kind])} for kind in ("load", "pv")}
        strategies = {s.strategy: s for s in mk.strategies}
        self.units: dict[str, BatteryUnit | ChargerUnit] = {}
        for i, p in enumerate(participants):
            s = strategies[p.strategy]
            pricing = Pricing(s.strategy, s.update_interval_s, s.fit_to_limit,
                              s.change_per_update_ct_per_kwh)
            bats = [battery_unit(a) for a in p.assets.get("battery", [])]
            chs = [ChargerUnit(a.id, a.spec.p_max_kw) for a in p.assets.get("ev_charger", [])]
            self.units.update({u.id: u for u in (*bats, *chs)})
            load = load_kwh[:, [columns["load"][a] for a in p.ids("load")]].sum(axis=1)
            pv = pv_kwh[:, [columns["pv"][a] for a in p.ids("pv")]].sum(axis=1)
            planner = self._planner(p, load / dt_h, pv / dt_h, tariff / 100.0, feed_in / 100.0) \
                if mk.flex == "scheduler" and (bats or chs) else None
            self.model.add(Prosumer(
                self.model, p.id, p.type, p.id, pricing, load, pv, bats, chs,
                seed=np.random.SeedSequence([sc.seed, 11, i]).generate_state(1)[0],
                planner=planner))
        self.owner = {u: agent for agent in self.model.by_pid.values()
                      for u in agent.setpoint_kw}

    def _planner(self, p, load_kw, pv_kw, price_eur, feed_in_eur):
        """The participant's storage plan as ``planner(agent, slot) -> {device: kW}``."""
        sc = self.scenario
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

    def advance(self, time, inputs):
        got = inputs.get("community", {})
        if self.model.clock.is_slot_start(time):  # device states matter at slot starts
            if "e_kwh" in got:
                (e,) = got["e_kwh"].values()  # one source: the battery set, in asset order
                for a, value in zip(self.assets.get("BatteryAgent", []), e, strict=True):
                    self.units[a.id].e_kwh = float(value)
            views = {a[3:]: next(iter(got[a].values())) for a in PLUGGED_EV_ATTRS if a in got}
            for j, a in enumerate(self.assets.get("ChargerAgent", []) if views else []):
                self.units[a.id].ev = {k: float(v[j]) for k, v in views.items()}
        trades = [t for v in got.get("trades", {}).values() for t in (v or [])]
        self.orders = self.model.step_at(time, trades)

    def outputs(self, model, attr):
        if model == "Community":
            return [self.orders if attr == "orders" else []]
        ids = [a.id for a in self.assets[model]]
        return np.array([self.owner[i].setpoint_kw[i] for i in ids], dtype=float)
