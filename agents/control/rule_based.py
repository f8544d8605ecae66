"""Rule-based site controller: the baseline strategy.

Sign convention: positive = consumption / charging / import.

Rules, evaluated each step from the site's state:

1. EV chargers: set to their rating (``ev_full_power``), so an EV charges at full
   power from the instant it plugs in, also in the middle of a step (the charger and
   the EV limit the actual power), else 0.
2. Site net power without batteries, with the EVs plugged in now:
   ``net = sum(pv) + sum(load) + sum(ev_now)``.
3. Surplus (``net < 0``): batteries absorb ``min(-net, sum(p_max))``, shared in
   proportion to each battery's charging headroom ``p_max``.
4. Evening window ``[evening_start, evening_end)`` with import (``net > 0``):
   batteries cover ``min(net, sum(-p_min))``, shared in proportion to ``-p_min``.
5. Otherwise batteries idle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from agents.control.strategy import Setpoints, SiteState


def share(total_kw: float, capacity_kw: np.ndarray) -> np.ndarray:
    """Split ``total_kw`` in proportion to ``capacity_kw`` (all >= 0), capped by it. [kW]"""
    cap = np.maximum(capacity_kw, 0.0)
    available = cap.sum()
    if available <= 0.0 or total_kw <= 0.0:
        return np.zeros_like(cap)
    return cap * min(total_kw / available, 1.0)


def in_window(t: dt.time, start: dt.time, end: dt.time) -> bool:
    """Whether ``t`` lies in ``[start, end)``, windows may wrap midnight."""
    return start <= t < end if start <= end else (t >= start or t < end)


@dataclass(frozen=True)
class RuleBasedStrategy:
    evening_start: dt.time = dt.time(17)
    evening_end: dt.time = dt.time(22)
    ev_full_power: bool = True

    def decide(self, state: SiteState) -> Setpoints:
        if self.ev_full_power:
            ev, ev_now = state.charger_rated_p_kw.copy(), state.charger_p_max_kw
        else:
            ev = ev_now = np.zeros_like(state.charger_p_max_kw)
        net = float(state.pv_p_kw.sum() + state.load_p_kw.sum() + ev_now.sum())
        battery = np.zeros_like(state.battery_p_max_kw)
        if net < 0.0:
            battery = share(-net, state.battery_p_max_kw)
        elif in_window(state.time.time(), self.evening_start, self.evening_end):
            battery = -share(net, -state.battery_p_min_kw)
        return Setpoints(battery_p_kw=battery, charger_p_kw=ev)
