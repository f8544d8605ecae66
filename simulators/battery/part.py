"""The batteries' part of the site simulator: the fleet model stepped. No physics here.

Sign convention: positive = charging. ``p_set_kw`` is the requested AC power for the
step ``[t, t + step)``; ``p_kw`` is what the battery delivered, ``p_deviation_kw`` the
difference. State outputs (``soc_percent``, ``e_kwh`` and the availability window
``p_charge_avail_kw`` / ``p_discharge_avail_kw`` for the next step) are end-of-step
values: connect them to a controller with ``time_shifted=True``.
"""

from __future__ import annotations

import numpy as np

from simulators.battery.model import BatteryFleet, BatteryParams
from twin.scenario.assets import Asset, params_from

ATTRS = [
    "p_set_kw", "p_kw", "p_deviation_kw", "soc_percent", "e_kwh", "e_loss_kwh",
    "p_charge_avail_kw", "p_discharge_avail_kw", "capacity_kwh",
]


def battery_params(spec) -> BatteryParams:
    return params_from(BatteryParams, spec)


class BatteryPart:
    """Every battery of ``assets``, in their order."""

    attrs = ATTRS

    def __init__(self, assets: list[Asset], step_s: int):
        self.step_s = step_s
        self.fleet = BatteryFleet([battery_params(a.spec) for a in assets], dt_s=step_s)

    def advance(self, p_set_kw: np.ndarray) -> None:
        self.fleet.step(p_set_kw, self.step_s)

    def output(self, attr: str) -> np.ndarray:
        return getattr(self.fleet, attr)


def initial_outputs(spec, step_s: int) -> dict[str, float]:
    """Start-of-run output values of one battery (for time-shifted connections)."""
    fleet = BatteryFleet([battery_params(spec)], step_s)
    return {attr: float(getattr(fleet, attr)[0]) for attr in ATTRS}
