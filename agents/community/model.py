"""The prosumer community (Mesa 3 model): one step per market tick.

Sign convention: positive = consumption / charging / import. Energies in kWh per
delivery slot, powers in kW, rates in ct/kWh.

Market time: delivery slot ``k`` is traded during slot ``k - 1``, in ``ticks`` ticks
of ``tick_s``. At the first tick of slot ``k`` the agents turn the trades of slot
``k`` into set-points (:meth:`Prosumer.deliver`) and open their orders for slot
``k + 1``; at every tick they re-price and post their open orders. Slot 0 has no
market: its batteries and EVs idle and its energy is settled with the utility.

The model builds its agents itself, one :class:`Prosumer` per :class:`Member`
(Mesa's boltzmann wealth model style); a mosaik adapter only carries the devices'
measured states in (:meth:`Community.observe`) and the set-points out
(:meth:`Community.setpoints_kw`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import mesa
import numpy as np

from agents.community.agents import BatteryUnit, ChargerUnit, Prosumer
from agents.market.clock import MarketClock
from agents.market.pricing import Limits, Pricing


@dataclass
class Member:
    """One participant behind one meter, from which the community builds its agent.

    Attributes
    ----------
    pid : str
        The participant's id (also its house in the market tree).
    ptype : str
        Its type (``single_family``, ``producer``, ...).
    pricing : Pricing
        Its pricing strategy.
    load_kwh, pv_kwh : numpy.ndarray
        Forecast load and PV energy per slot [kWh] (PV <= 0).
    batteries, chargers : list
        Its storage devices.
    rng : numpy.random.Generator or int
        Its pricing strategy's random generator (or a seed for one).
    planner : callable, optional
        ``planner(agent, slot) -> {device: kW}``: a storage plan that sets the batteries
        and chargers; without one they trade for themselves.
    """

    pid: str
    ptype: str
    pricing: Pricing
    load_kwh: np.ndarray
    pv_kwh: np.ndarray
    batteries: list[BatteryUnit]
    chargers: list[ChargerUnit]
    rng: np.random.Generator | int
    planner: Callable | None = None


class Community(mesa.Model):
    def __init__(self, slot_s: int, ticks: int, limits_by_slot, seed: int | None = None,
                 members: Iterable[Member] = (), rng: np.random.Generator | None = None):
        """``limits_by_slot(slot) -> {house: Limits}``: each house's market-maker limits.
        ``seed`` or ``rng``: Mesa's random generators (the agents' shuffle order)."""
        super().__init__(seed=seed, rng=rng)
        self.clock = MarketClock(slot_s, ticks)
        self.slot_s, self.ticks, self.tick_s = slot_s, ticks, self.clock.tick_s
        self.limits_by_slot = limits_by_slot
        self.limits: dict[str, Limits] = {}
        self.slot = self.tick = 0
        self.order_book: list = []
        self.by_pid: dict[str, Prosumer] = {}
        self._agents_in_order: list[Prosumer] = []  # registration order
        self.elapsed_s = 0  # into the slot's trading at this tick [s]
        for m in members:
            self.add(Prosumer(self, m.pid, m.ptype, m.pid, m.pricing, m.load_kwh, m.pv_kwh,
                              m.batteries, m.chargers, seed=m.rng, planner=m.planner))

    def add(self, agent: Prosumer) -> None:
        self.by_pid[agent.pid] = agent

    def _shuffled(self) -> list:
        """The agents in a random order, as Mesa's ``AgentSet.shuffle_do`` draws it (its
        insertion order shuffled by ``self.random``: the same draws, the same order),
        without its weak references."""
        order = self._in_order().copy()
        self.random.shuffle(order)
        return order

    def _in_order(self) -> list:
        """The agents in registration order (Mesa's ``self.agents``), kept."""
        if len(self._agents_in_order) != len(self.agents):
            self._agents_in_order = list(self.agents)
        return self._agents_in_order

    def units(self) -> dict[str, BatteryUnit | ChargerUnit]:
        """Every agent's batteries and chargers, by device id."""
        return {u.id: u for agent in self.by_pid.values()
                for u in (*agent.batteries, *agent.chargers)}

    def observe(self, e_kwh: dict[str, float], ev: dict[str, dict[str, float]]) -> None:
        """The devices' states at a slot's start: stored energy by battery [kWh], and by
        charger the plugged EV's view (``departure_s``, ``e_kwh``, ...)."""
        units = self.units()
        for device, value in e_kwh.items():
            units[device].e_kwh = value
        for device, view in ev.items():
            units[device].ev = view

    def setpoints_kw(self, devices: list[str]) -> np.ndarray:
        """The set-point of each device (battery or charger) for the slot in delivery. [kW]"""
        owner = {u: agent for agent in self.by_pid.values() for u in agent.setpoint_kw}
        return np.array([owner[d].setpoint_kw[d] for d in devices], dtype=float)

    def step_at(self, time_s: int, trades: list) -> list:
        """One tick at ``time_s``: deliver the trades received since the last tick, then
        the open orders for the slot in trade (a list of ``OrderIn``)."""
        for t in trades:
            for pid in {t.buyer, t.seller}:
                agent = self.by_pid.get(pid)
                if agent is not None:
                    agent.receive(t)
        slot, self.tick = self.clock.at(time_s)
        if self.tick == 0:
            agents = self._in_order()  # as Mesa's AgentSet.do: registration order
            for agent in agents:
                agent.deliver()
            self.slot = slot
            self.limits = self.limits_by_slot(self.slot)
            for agent in agents:
                agent.open_slot(slot)
        self.order_book = book = []
        self.elapsed_s = elapsed = self.tick * self.tick_s
        updates: dict[float, int] = {}  # the pricing update point by interval [s]
        for agent in self._shuffled():
            posted, interval = agent.posted, agent.pricing.update_interval_s
            update = updates.get(interval)
            if update is None:
                update = updates[interval] = int(elapsed // interval)
            if posted is not None and posted[0] == update:
                book.extend(posted[1])  # nothing traded or re-priced since
            else:
                agent.place_orders()
        self.steps += 1
        return book
