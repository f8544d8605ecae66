"""Public API of the EV fleet model (pure, no mosaik).

Sign convention: positive = consumption / charging from the grid; V2G
discharge is negative ``p_kw``. See :mod:`simulators.ev.fleet` for the
event model and :mod:`simulators.ev.behaviour` for the driving patterns.
"""

from simulators.ev.behaviour import (
    PATTERNS,
    ChargerParams,
    EvParams,
    Trip,
    daily_km,
    draw_trips,
)
from simulators.ev.fleet import EvFleet

__all__ = ["PATTERNS", "ChargerParams", "EvFleet", "EvParams", "Trip", "daily_km", "draw_trips"]
