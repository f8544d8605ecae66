"""Scheduling strategy: plans the site's batteries and EV chargers with the built-in
device scheduler (FlexMeasures' model), re-planning on a cadence and on EV arrivals.

Sign convention: positive = consumption / charging / import.

At a re-planning step the strategy turns the live state into device constraints in the
scheduler's units (power in kW, stock in kW x step = kWh / step_h, prices in EUR per
kW per step = EUR/kWh x step_h):

- battery: flow within [-p_discharge_max, p_charge_max], efficiencies, the per-step
  self-discharge factor as storage efficiency, stock within the SoC limits; at the end
  of the plan and of the run a soft soc-minima at the run's initial SoC, its shortfall
  priced at the cost of refilling it at the cheapest price (a terminal value);
- charger with an EV plugged in: flow within [-p_v2g, p_charge] until the departure
  step, 0 after; the EV's stock within its SoC limits and at least its target (or what
  can still be reached) at departure;
- the inflexible site (households + PV) from the forecasts, as a fixed flow;
- one net-energy commitment: import priced at the import tariff, export at feed-in;
- the site capacity (the transformer's rating) as a soft limit both ways, its breach
  priced as FlexMeasures does by default when relaxing constraints (10000 EUR/kW on the
  largest breach and per kW and hour on each step's).

Between re-plannings the plan's later steps are sent; each step's setpoint is also
clipped to what the device reports it can do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from agents.scheduling.device_scheduler import Commitment, Device, schedule_devices
from agents.strategy import Setpoints, SiteState

# forecast(step, n) -> (inflexible net power [kW], import price, feed-in price) x n steps
Forecast = Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass
class BatterySpecs:
    """Static battery parameters, one entry per battery."""

    p_charge_max_kw: np.ndarray
    p_discharge_max_kw: np.ndarray
    eta_charge: np.ndarray
    eta_discharge: np.ndarray
    e_min_kwh: np.ndarray
    e_max_kwh: np.ndarray
    storage_efficiency: np.ndarray  # per step
    e_end_min_kwh: np.ndarray  # stored energy wanted back at the end of each plan


def battery_specs(specs: list, step_s: float) -> BatterySpecs:
    """Scheduler parameters from battery specs (scenario ``assets.battery`` entries)."""
    def col(name: str) -> np.ndarray:
        return np.array([getattr(b, name) for b in specs], dtype=float)

    capacity = col("capacity_kwh")
    per_day = col("self_discharge_percent_per_day") / 100.0
    return BatterySpecs(
        p_charge_max_kw=col("p_charge_max_kw"), p_discharge_max_kw=col("p_discharge_max_kw"),
        eta_charge=col("eta_charge"), eta_discharge=col("eta_discharge"),
        e_min_kwh=capacity * col("soc_min_percent") / 100.0,
        e_max_kwh=capacity * col("soc_max_percent") / 100.0,
        storage_efficiency=(1.0 - per_day) ** (step_s / 86400.0),
        e_end_min_kwh=capacity * col("soc_initial_percent") / 100.0,
    )


@dataclass
class SchedulingStrategy:
    forecast: Forecast
    batteries: BatterySpecs
    charger_rated_p_kw: np.ndarray
    charger_v2g: np.ndarray
    step_s: float
    horizon_steps: int = 96
    replan_steps: int = 4
    replan_on_arrival: bool = True
    run_steps: int | None = None  # steps in the run: stored energy is valued at its end
    site_capacity_kw: float | None = None  # soft, as FlexMeasures' site capacities
    site_breach_price_eur_per_kw: float = 10000.0  # FlexMeasures' default when relaxing
    backend: str = "builtin"  # or "flexmeasures": FlexMeasures' own device_scheduler
    plan: np.ndarray | None = field(default=None, init=False)  # (devices, steps)
    plan_start: int = field(default=0, init=False)
    plans_made: int = field(default=0, init=False)
    _plugged: np.ndarray | None = field(default=None, init=False)
    _forecast: np.ndarray | None = field(default=None, init=False)  # inflexible, per plan step

    def inflexible_forecast_kw(self, step: int) -> float:
        """What the plan in use expects of the inflexible site power at ``step``. [kW]"""
        if self._forecast is None or not 0 <= step - self.plan_start < len(self._forecast):
            return float("nan")
        return float(self._forecast[step - self.plan_start])

    def decide(self, state: SiteState) -> Setpoints:
        k = state.step
        plugged = np.isfinite(state.charger_ev["departure_s"])
        arrived = self._plugged is not None and (plugged & ~self._plugged).any()
        stale = self.plan is None or k - self.plan_start >= min(self.replan_steps,
                                                                self.plan.shape[1])
        if stale or (self.replan_on_arrival and arrived):
            self.plan = self._make_plan(state)
            self.plan_start = k
            self.plans_made += 1
        self._plugged = plugged
        p = self.plan[:, k - self.plan_start]
        n_bat = len(state.battery_e_kwh)
        battery = np.clip(p[:n_bat], state.battery_p_min_kw, state.battery_p_max_kw)
        charger = np.clip(p[n_bat:], state.charger_p_min_kw, state.charger_rated_p_kw)
        charger = np.where(plugged, charger, 0.0)
        return Setpoints(battery_p_kw=battery, charger_p_kw=charger)

    def _make_plan(self, state: SiteState) -> np.ndarray:
        n = self.horizon_steps
        step_h = self.step_s / 3600.0
        inflexible, price, feed_in = self.forecast(state.step, n)
        n = len(inflexible)  # the forecast may end with the run
        self._forecast = inflexible
        b = self.batteries
        devices = [
            Device(
                derivative_min=np.full(n, -b.p_discharge_max_kw[i]),
                derivative_max=np.full(n, b.p_charge_max_kw[i]),
                stock_min=np.full(n, (b.e_min_kwh[i] - e) / step_h),
                stock_max=np.full(n, (b.e_max_kwh[i] - e) / step_h),
                up_efficiency=b.eta_charge[i], down_efficiency=b.eta_discharge[i],
                storage_efficiency=b.storage_efficiency[i], initial_stock=e / step_h,
            )
            for i, e in enumerate(state.battery_e_kwh)
        ]
        devices += [self._ev_device(state, j, n, step_h)
                    for j in range(len(state.charger_rated_p_kw))]
        devices.append(Device(derivative_min=inflexible, derivative_max=inflexible,
                              derivative_equals=inflexible))
        commitments = [Commitment(quantity=0.0, up_price=price * step_h,
                                  down_price=feed_in * step_h)]
        commitments += self._terminal_values(state, n, step_h, price)
        if self.site_capacity_kw is not None:  # FM: "any" (largest) and "all" (each step)
            for each, breach in ((False, self.site_breach_price_eur_per_kw),
                                 (True, self.site_breach_price_eur_per_kw * step_h)):
                commitments.append(Commitment(quantity=self.site_capacity_kw, up_price=breach,
                                              each=each))
                commitments.append(Commitment(quantity=-self.site_capacity_kw,
                                              down_price=-breach, each=each))
        if self.backend == "flexmeasures":
            from agents.scheduling.backends import flexmeasures_device_scheduler

            named = [(f"commitment {i}", c) for i, c in enumerate(commitments)]
            return flexmeasures_device_scheduler(devices, n, named)[0][:-1]
        return schedule_devices(devices, n, commitments=commitments).power[:-1]

    def _terminal_values(self, state: SiteState, n: int, step_h: float,
                         price: np.ndarray) -> list[Commitment]:
        """Soft soc-minima at the end of the plan and at the end of the run (when inside
        the plan): each battery's shortfall from its initial energy is priced at what
        refilling it would cost at the plan's cheapest import price (over the charging
        efficiency), so a plan neither sells stored energy for nothing nor refills it in
        a rush."""
        b = self.batteries
        ends = [n - 1]
        if self.run_steps is not None and state.step < self.run_steps < state.step + n:
            ends.append(self.run_steps - state.step - 1)
        out = []
        for i, e in enumerate(state.battery_e_kwh):
            value = float(np.min(price)) / b.eta_charge[i] * step_h  # EUR per kW x step
            for j in ends:
                quantity = np.full(n, np.nan)
                quantity[j] = (b.e_end_min_kwh[i] - e) / step_h
                out.append(Commitment(quantity=quantity, down_price=-value, kind="stock",
                                      devices=[i]))
        return out

    def _ev_device(self, state: SiteState, j: int, n: int, step_h: float) -> Device:
        ev = {key: values[j] for key, values in state.charger_ev.items()}
        if not np.isfinite(ev["departure_s"]):
            zero = np.zeros(n)
            return Device(derivative_min=zero, derivative_max=zero)
        steps_left = int(np.floor((ev["departure_s"] - state.step * self.step_s) / self.step_s))
        on = np.arange(n) < steps_left
        p_max = self.charger_rated_p_kw[j]
        p_min = -p_max if self.charger_v2g[j] else 0.0
        e, eta_c = ev["e_kwh"], ev["eta_charge"]
        stock_min = np.full(n, (ev["e_min_kwh"] - e) / step_h)
        if 0 < steps_left <= n:  # the target, or what can still be reached, at departure
            reach = min(ev["e_target_kwh"], e + p_max * eta_c * step_h * steps_left,
                        ev["e_max_kwh"])
            stock_min[steps_left - 1] = max(reach - e, ev["e_min_kwh"] - e) / step_h
        return Device(
            derivative_min=np.where(on, p_min, 0.0), derivative_max=np.where(on, p_max, 0.0),
            stock_min=stock_min, stock_max=np.full(n, (ev["e_max_kwh"] - e) / step_h),
            up_efficiency=eta_c, down_efficiency=ev["eta_discharge"],
            initial_stock=e / step_h,
        )
