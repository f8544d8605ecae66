"""The prosumer community (Mesa 3 model): one step per market tick.

Market time: delivery slot ``k`` is traded during slot ``k - 1``, in ``ticks`` ticks
of ``tick_s``. At the first tick of slot ``k`` the agents turn the trades of slot
``k`` into set-points (:meth:`Prosumer.deliver`) and open their orders for slot
``k + 1``; at every tick they re-price and post their open orders. Slot 0 has no
market: its batteries and EVs idle and its energy is settled with the utility.
"""

from __future__ import annotations

import mesa

from agents.community.agents import Prosumer
from agents.market.clock import MarketClock
from agents.market.pricing import Limits


class Community(mesa.Model):
    def __init__(self, slot_s: int, ticks: int, limits_by_slot, seed: int):
        """``limits_by_slot(slot) -> {house: Limits}``: each house's market-maker limits."""
        super().__init__(seed=seed)
        self.clock = MarketClock(slot_s, ticks)
        self.slot_s, self.ticks, self.tick_s = slot_s, ticks, self.clock.tick_s
        self.limits_by_slot = limits_by_slot
        self.limits: dict[str, Limits] = {}
        self.slot = self.tick = 0
        self.order_book: list = []
        self.by_pid: dict[str, Prosumer] = {}

    def add(self, agent: Prosumer) -> None:
        self.by_pid[agent.pid] = agent

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
            self.agents.do("deliver")
            self.slot = slot
            self.limits = self.limits_by_slot(self.slot)
            self.agents.do("open_slot", self.slot)
        self.order_book = []
        self.agents.shuffle_do("place_orders")
        self.steps += 1
        return self.order_book
