"""Scheduling strategy: FlexMeasures' storage scheduling of the site's batteries and EV
chargers, re-planned on a cadence and on events, through any scheduling backend.

Sign convention: positive = consumption / charging / import.

At a re-planning step the strategy turns the live state of the twin and its forecasts
into a FlexMeasures trigger body (:mod:`live_request`: flex-model per battery and per
charger with an EV plugged in, flex-context with the tariff, the inflexible-site
forecast and the site capacity, plus the scenario's overrides), reads it as any request
is read (:func:`flex_model.parse_request`) and solves it with the chosen backend
(``builtin``, ``flexmeasures`` or ``server``: :func:`backends.solve`).

Cadence (all optional, combined):

- day-ahead: at a set local time of day, a plan until the end of the next day;
- intraday: every ``replan_steps``, a plan over the horizon (or to the end of the
  latest day-ahead plan, if that is further);
- events: when an EV plugs in, and when the grid operator's signals change (OpenADR);
- and whenever the plan in force runs out.

With the builtin backend the strategy keeps one HiGHS instance and starts each plan's
solve from the last plan's optimal basis, shifted to the new window
(:mod:`agents.scheduling.warm_start`; ``warm_start=False``: a cold solve each time, the
same optimum).

Between re-plannings the plan's later steps are sent; each step's setpoint is also
clipped to what the device reports it can do. The plan in force is kept for the
results: planned power and planned stored energy at the end of each step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from agents.control.strategy import Setpoints, SiteState
from agents.scheduling.backends import solve
from agents.scheduling.flex_model import parse_request
from agents.scheduling.grid_signals import signal_series
from agents.scheduling.live_request import SiteModel, request_body
from agents.scheduling.warm_start import WarmStart

# forecast(step, n) -> (inflexible net power [kW], import price, feed-in price) x n steps
Forecast = Callable[[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass
class PlanStats:
    plans: int = 0
    solve_s: float = 0.0  # parsing, building and solving, summed
    breaches: int = 0  # soft constraints a plan breaches (each device and time)
    reasons: dict = field(default_factory=dict)  # why plans were made: count per reason
    cost_eur: list = field(default_factory=list)  # each plan's total cost (its commitments)


@dataclass
class SchedulingStrategy:
    site: SiteModel
    forecast: Forecast
    horizon_steps: int = 96
    replan_steps: int | None = 4  # intraday cadence; None: no intraday re-planning
    day_ahead_step: int | None = None  # step of the (local) day of the day-ahead plan
    replan_on_arrival: bool = True
    backend: str = "builtin"  # builtin | flexmeasures | server
    server: object = None  # fm_server.ServerConfig for the server backend
    asset: int | None = None  # the server's asset id
    warm_start: bool = True  # builtin backend: each solve starts from the last plan's basis
    plan: np.ndarray | None = field(default=None, init=False)  # power (devices, steps) [kW]
    plan_e_kwh: np.ndarray | None = field(default=None, init=False)  # at each step's end
    plan_start: int = field(default=0, init=False)
    stats: PlanStats = field(default_factory=PlanStats, init=False)
    first_request: dict | None = field(default=None, init=False)
    _covered_until: int = field(default=0, init=False)  # end of the latest day-ahead plan
    _plugged: np.ndarray | None = field(default=None, init=False)
    _forecast: np.ndarray | None = field(default=None, init=False)  # inflexible, per plan step
    _signals: tuple = field(default=(), init=False)  # grid signals the plan in force knows
    _warm: WarmStart = field(default_factory=WarmStart, init=False)

    @property
    def plans_made(self) -> int:
        return self.stats.plans

    @property
    def steps_per_day(self) -> int:
        return int(round(86400 / self.site.step_s))

    def inflexible_forecast_kw(self, step: int) -> float:
        """What the plan in use expects of the inflexible site power at ``step``. [kW]"""
        if self._forecast is None or not 0 <= step - self.plan_start < len(self._forecast):
            return float("nan")
        return float(self._forecast[step - self.plan_start])

    def planned(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """The plan in force at ``step``: power [kW] and stored energy at the step's end
        [kWh] per device (batteries, then chargers; NaN energy without an EV)."""
        j = step - self.plan_start
        return self.plan[:, j], self.plan_e_kwh[:, j]

    def _reason(self, state: SiteState) -> str | None:
        k = state.step
        plugged = np.isfinite(state.charger_ev["departure_s"])
        if self.plan is None:
            return "start"
        if self.day_ahead_step is not None and self._step_of_day(state) == self.day_ahead_step:
            return "day-ahead"
        if k - self.plan_start >= self.plan.shape[1]:
            return "plan ran out"
        if self.replan_steps is not None and k - self.plan_start >= self.replan_steps:
            return "intraday"
        if tuple(map(tuple, state.grid_signals)) != self._signals:
            return "grid signal"
        if self.replan_on_arrival and self._plugged is not None \
                and (plugged & ~self._plugged).any():
            return "EV arrival"
        return None

    def _step_of_day(self, state: SiteState) -> int:
        t = state.time
        return (t.hour * 3600 + t.minute * 60 + t.second) // self.site.step_s

    def decide(self, state: SiteState) -> Setpoints:
        k = state.step
        reason = self._reason(state)
        if reason is not None:
            n = self.horizon_steps
            if reason == "day-ahead":  # until the end of the next day
                n = 2 * self.steps_per_day - self._step_of_day(state)
                self._covered_until = k + n
            n = max(n, self._covered_until - k)
            self._make_plan(state, n)
            self.stats.reasons[reason] = self.stats.reasons.get(reason, 0) + 1
        self._plugged = np.isfinite(state.charger_ev["departure_s"])
        p, _ = self.planned(k)
        n_bat = len(state.battery_e_kwh)
        battery = np.clip(p[:n_bat], state.battery_p_min_kw, state.battery_p_max_kw)
        charger = np.clip(p[n_bat:], state.charger_p_min_kw, state.charger_rated_p_kw)
        charger = np.where(self._plugged, charger, 0.0)
        return Setpoints(battery_p_kw=battery, charger_p_kw=charger)

    def request(self, state: SiteState, n: int) -> dict:
        """The FlexMeasures trigger body for a plan of ``n`` steps from this state."""
        inflexible, price, feed_in = self.forecast(state.step, n)
        self._forecast = inflexible  # the forecast may end with the run
        limit = None
        self._signals = tuple(map(tuple, state.grid_signals))
        if self._signals:
            limit, price = signal_series(self._signals, state.step, len(inflexible),
                                         self.site.step_s, self.site.site_capacity_kw, price,
                                         self.site.device_limit_kw)
        body = request_body(self.site, pd.Timestamp(state.time), state.step * self.site.step_s,
                            state.battery_e_kwh, state.charger_ev, inflexible, price, feed_in,
                            site_consumption_kw=limit)
        if self.asset is not None:
            body["asset"] = self.asset
        return body

    def _make_plan(self, state: SiteState, n: int) -> None:
        t0 = time.perf_counter()
        body = self.request(state, n)
        if self.first_request is None:
            self.first_request = body
        warm = self._warm if self.warm_start and self.backend == "builtin" else None
        result = solve(parse_request(body), self.backend, self.server, warm=warm)
        n = len(self._forecast)
        index = {name: i for i, name in enumerate(self.site.battery_ids + self.site.charger_ids)}
        self.plan = np.zeros((len(index), n))
        self.plan_e_kwh = np.full((len(index), n), np.nan)
        for row, name in enumerate(result.names):
            self.plan[index[name]] = result.power_kw[row, :n]
            self.plan_e_kwh[index[name]] = result.soc_kwh[row, :n]
        self.plan_start = state.step
        self.stats.plans += 1
        self.stats.solve_s += time.perf_counter() - t0
        self.stats.breaches += len(result.breaches)
        self.stats.cost_eur.append(result.costs["total_eur"])
