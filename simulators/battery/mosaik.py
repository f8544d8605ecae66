"""mosaik adapter of the battery fleet model: one entity per battery. No physics here.

Sign convention: positive = charging. ``p_set_kw`` is the requested AC power for the
step ``[t, t + step)``; ``p_kw`` is what the battery delivered, ``p_deviation_kw`` the
difference. State outputs (``soc_percent``, ``e_kwh`` and the availability window
``p_charge_avail_kw`` / ``p_discharge_avail_kw`` for the next step) are end-of-step
values: connect them to a controller with ``time_shifted=True``.
"""

from __future__ import annotations

from mosaik_api_v3.types import Meta

from simulators.base import ArraySimulator, meta
from simulators.battery.model import BatteryFleet, BatteryParams
from twin.scenario.assets import params_from

ATTRS = [
    "p_set_kw", "p_kw", "p_deviation_kw", "soc_percent", "e_kwh", "e_loss_kwh",
    "p_charge_avail_kw", "p_discharge_avail_kw", "capacity_kwh",
]
META: Meta = meta("Battery", ATTRS, sets=("Battery",))


def battery_params(spec) -> BatteryParams:
    return params_from(BatteryParams, spec)


class BatterySim(ArraySimulator):
    kinds = {"Battery": "battery"}

    def __init__(self):
        super().__init__(META)

    def setup(self):
        params = [battery_params(a.spec) for a in self.assets["Battery"]]
        self.fleet = BatteryFleet(params, dt_s=self.step_s)

    def advance(self, time, inputs):
        self.fleet.step(self.input_array(inputs, "Battery", "p_set_kw", 0.0), self.step_s)

    def outputs(self, model, attr):
        return getattr(self.fleet, attr)



def initial_outputs(spec, step_s: int) -> dict[str, float]:
    """Start-of-run output values of one battery (for time-shifted connections)."""
    fleet = BatteryFleet([battery_params(spec)], step_s)
    return {attr: float(getattr(fleet, attr)[0]) for attr in ATTRS}
