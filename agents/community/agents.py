"""HAMLET-style prosumer agents (Mesa 3): forecast, order, receive trades, set devices.

Sign convention: positive = consumption / charging / import. Energies in kWh per
delivery slot, rates in ct/kWh.

A prosumer owns devices behind one meter and trades as gsy-e's house devices do, one
trader per device: its loads bid their forecast consumption, its PV offers its
forecast production, each battery bids to charge and offers to discharge what its
state allows, each charger with an EV bids what the EV still needs. Rates come from
the participant's pricing strategy inside the market-maker limits of its house and
change only at the strategy's update points (every ``update_interval``; a re-priced
order restarts its wait before forwarding, so re-pricing on every tick would keep
orders at home); an EV that can no longer wait bids at the limit. The energy a
battery or EV bought and sold for a slot becomes its set-point for that slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mesa
import numpy as np

from agents.market.engine import OrderIn
from agents.market.pricing import Limits, Pricing, UniformDraws

EPS_KWH = 1e-6


@dataclass
class BatteryUnit:
    id: str
    e_min_kwh: float
    e_max_kwh: float
    p_charge_max_kw: float
    p_discharge_max_kw: float
    eta_charge: float
    eta_discharge: float
    e_kwh: float = 0.0  # measured at the start of the slot in delivery

    def expected_e_kwh(self, p_kw: float, dt_h: float) -> float:
        """Energy at the next slot's start after this slot at ``p_kw``, within limits. [kWh]"""
        e = after_slot(self.e_kwh, p_kw, dt_h, self.eta_charge, self.eta_discharge)
        return min(max(e, self.e_min_kwh), self.e_max_kwh)


@dataclass
class ChargerUnit:
    id: str
    p_max_kw: float
    ev: dict = field(default_factory=dict)  # the plugged EV's view (departure_s, e_kwh, ...)


def after_slot(e_kwh: float, p_kw: float, dt_h: float, eta_c: float, eta_d: float) -> float:
    """Stored energy after a slot at ``p_kw`` (charging > 0). [kWh]"""
    return e_kwh + (p_kw * eta_c if p_kw > 0 else p_kw / eta_d) * dt_h


class Prosumer(mesa.Agent):
    """One participant: its devices' orders each tick, its trades, its set-points."""

    def __init__(self, model, pid: str, ptype: str, house: str, pricing: Pricing,
                 load_kwh: np.ndarray, pv_kwh: np.ndarray, batteries: list[BatteryUnit],
                 chargers: list[ChargerUnit], seed: int, planner=None):
        """``planner(agent, slot) -> {device: kW}``: a storage plan that sets the batteries
        and chargers (``market.flex: scheduler``); without one they trade for themselves."""
        super().__init__(model)
        self.planner = planner
        self.plan_kw: dict[str, float] = {}  # the plan for the slot in trade
        self.pid, self.ptype, self.house, self.pricing = pid, ptype, house, pricing
        self.load_kwh, self.pv_kwh = load_kwh, pv_kwh  # forecast per slot, pv <= 0
        self.batteries, self.chargers = batteries, chargers
        self.price_rng = UniformDraws(np.random.default_rng(seed))  # its draws, in blocks
        self.orders: dict[str, tuple[str, str, str, float]] = {}  # id -> device, side, kind, kWh
        self.traded: dict[str, float] = {}  # device -> net energy bought for the slot traded
        self.rates: dict[str, tuple[int, float]] = {}  # id -> (update point, rate)
        self.listed: dict[str, OrderIn] = {}  # id -> its record as last posted
        self.posted: tuple[int, list[OrderIn]] | None = None  # this update's orders
        self.setpoint_kw: dict[str, float] = {u.id: 0.0 for u in (*batteries, *chargers)}

    # ------------------------------------------------------------ a new slot to trade
    def open_slot(self, slot: int) -> None:
        """Orders for delivery slot ``slot``, from forecasts and the expected states."""
        m = self.model
        dt_h = m.slot_s / 3600.0
        self.orders.clear()
        self.posted = None
        self.rates = {}
        self.listed = {}
        self.traded = {}
        self.plan_kw = {}
        if slot >= len(self.load_kwh):
            return
        if self.load_kwh[slot] > EPS_KWH:
            self._order(f"{self.pid}/load", "bid", "load", self.load_kwh[slot])
        if self.pv_kwh[slot] < -EPS_KWH:
            self._order(f"{self.pid}/pv", "offer", "pv", -self.pv_kwh[slot])
        if self.planner is not None:
            self.plan_kw = self.planner(self, slot)
            for device, p_kw in self.plan_kw.items():  # trade what the plan will draw/give
                self._order(device, "bid" if p_kw > 0 else "offer",
                            "load" if p_kw > 0 else "pv", abs(p_kw) * dt_h)
            return
        for b in self.batteries:
            e = b.expected_e_kwh(self.setpoint_kw[b.id], dt_h)
            buy = min(b.p_charge_max_kw * dt_h, (b.e_max_kwh - e) / b.eta_charge)
            sell = min(b.p_discharge_max_kw * dt_h, (e - b.e_min_kwh) * b.eta_discharge)
            self._order(b.id, "bid", "storage", buy)
            self._order(b.id, "offer", "storage", sell)
        for c in self.chargers:
            need = self._ev_need_kwh(c, slot, dt_h)
            if need is not None:
                self._order(c.id, "bid", *need)

    def _order(self, device: str, side: str, kind: str, energy_kwh: float) -> None:
        if energy_kwh > EPS_KWH:
            self.orders[f"{device}:{side}"] = (device, side, kind, float(energy_kwh))

    def _ev_need_kwh(self, c: ChargerUnit, slot: int, dt_h: float):
        ev = c.ev
        dep = ev.get("departure_s", np.nan)
        start_s = slot * self.model.slot_s
        if not np.isfinite(dep) or dep <= start_s:
            return None
        eta = ev.get("eta_charge", 1.0)
        e = after_slot(ev["e_kwh"], self.setpoint_kw[c.id], dt_h, eta, 1.0)
        need = (min(ev["e_target_kwh"], ev["e_max_kwh"]) - e) / eta
        if need <= EPS_KWH:
            return None
        per_slot = c.p_max_kw * min(dt_h, (dep - start_s) / 3600.0)
        energy = min(per_slot, need)
        slots_after = max(int((dep - start_s) // self.model.slot_s) - 1, 0)
        urgent = need - energy > slots_after * c.p_max_kw * dt_h - EPS_KWH
        return ("ev_urgent" if urgent else "load"), energy

    # ------------------------------------------------------------ every tick
    def place_orders(self) -> None:
        m = self.model
        elapsed = m.elapsed_s
        update = int(elapsed // self.pricing.update_interval_s)
        if self.posted is not None and self.posted[0] == update:
            m.order_book.extend(self.posted[1])  # nothing traded or re-priced since
            return
        limits: Limits = m.limits[self.house]
        out: list[OrderIn] = []
        rates, listed = self.rates, self.listed
        for oid, (device, side, kind, left) in self.orders.items():
            if left <= EPS_KWH:
                continue
            last = rates.get(oid)
            if last is not None and last[0] == update:
                rate = last[1]  # re-priced only at update points
            else:
                if kind == "ev_urgent":
                    rate = limits.high_ct_per_kwh
                else:
                    lim = limits.for_storage(side) if kind == "storage" else limits
                    rate = self.pricing.rate(side, lim, elapsed, m.slot_s, m.tick_s,
                                             self.price_rng)
                rates[oid] = (update, rate)
            o = listed.get(oid)
            if o is None or o.energy_kwh != left or o.rate_ct_per_kwh != rate:
                o = listed[oid] = OrderIn(oid, device, self.pid, side, left, rate, self.house)
            out.append(o)  # the same record while it stays the same (the book's fast path)
        self.posted = (update, out)
        m.order_book.extend(out)

    def receive(self, trade) -> None:
        """A trade of one of its orders (``SettledTrade``)."""
        for oid, sign in ((trade.bid_id, 1.0), (trade.offer_id, -1.0)):
            order = self.orders.get(oid)
            if order is not None:
                self.posted = None
                device, side, kind, left = order
                self.orders[oid] = (device, side, kind, left - trade.energy_kwh)
                self.traded[device] = self.traded.get(device, 0.0) + sign * trade.energy_kwh

    # ------------------------------------------------------------ delivery
    def deliver(self) -> None:
        """Set-points for the slot just traded: what each battery and EV bought, net (or,
        with a planner, its plan for the slot)."""
        dt_h = self.model.slot_s / 3600.0
        for unit in (*self.batteries, *self.chargers):
            self.setpoint_kw[unit.id] = self.plan_kw.get(unit.id, 0.0) \
                if self.planner is not None else self.traded.get(unit.id, 0.0) / dt_h
