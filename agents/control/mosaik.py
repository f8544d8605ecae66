"""mosaik adapter that runs a control strategy over the site. No strategy logic here.

Entities: one ``Site``, one ``BatteryCtl`` per battery and one ``ChargerCtl`` per EV
charger, and the sets ``BatteryCtlSet`` / ``ChargerCtlSet`` whose attributes are lists
over them (the world connects those). Inputs: each device's state and feasible power
window, time-shifted from the end of the previous step; output: ``p_set_kw`` for the
step. The PV's available power and the household loads of the step are exogenous
series known for the horizon (``twin.inputs``), read here. A HIL device's values, as
last measured, replace its simulated twin's: ``hil_<attr>`` inputs, lists over the HIL
devices in ``hil_assets`` order (the PV's ``hil_p_avail_kw`` and the loads'
``hil_p_kw`` on ``Site``). Which strategy runs comes from ``scheduling``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from mosaik_api_v3.types import Meta

from agents.control.forecasts import oracle_forecast, persistence_forecast
from agents.control.rule_based import RuleBasedStrategy
from agents.control.scheduling import SchedulingStrategy
from agents.control.strategy import SiteState, Strategy
from agents.scheduling.fm_server import ServerConfig
from agents.scheduling.live_request import SiteModel
from simulators.base import ArraySimulator, meta, overlay, set_input
from simulators.ev.part import PLUGGED_EV_ATTRS
from simulators.feeder.model import (
    Feeder,
    FeederParams,
    LossEstimate,
    create_lv_radial,
    loss_estimate,
)
from twin import inputs as scenario_inputs
from twin.scenario.assets import hil_positions, params_from, resolve_assets
from twin.scenario.schema import Scenario
from twin.timeparse import parse_duration_s

# the plan in force: planned power [kW] and stored energy at the step's end [kWh]
PLAN_ATTRS = ["p_plan_kw", "e_plan_kwh"]
# the device states a control reads, end of the previous step (time-shifted)
BATTERY_STATE_ATTRS = ["p_charge_avail_kw", "p_discharge_avail_kw", "soc_percent", "e_kwh"]
CHARGER_STATE_ATTRS = ["p_charge_avail_kw", "p_discharge_avail_kw", *PLUGGED_EV_ATTRS]
META: Meta = meta(
    "Site", ["inflexible_forecast_kw", "grid_signals", "hil_p_avail_kw", "hil_p_kw"],
    extra={
        "BatteryCtl": {
            "public": True, "params": ["ids"], "trigger": [],
            "attrs": [*BATTERY_STATE_ATTRS, *(f"hil_{a}" for a in BATTERY_STATE_ATTRS),
                      "p_set_kw", *PLAN_ATTRS],
        },
        "ChargerCtl": {
            "public": True, "params": ["ids"], "trigger": [],
            "attrs": [*CHARGER_STATE_ATTRS, *(f"hil_{a}" for a in CHARGER_STATE_ATTRS),
                      "p_set_kw", *PLAN_ATTRS],
        },
    },
    sets=("BatteryCtl", "ChargerCtl"),
)


def feeder_losses(scenario: Scenario, batteries: list, chargers: list) -> LossEstimate:
    """The feeder's losses for the planner, from power flows of the scenario's feeder with
    the flexible devices (batteries, chargers) at their buses and ratings."""
    feeder = Feeder(create_lv_radial(params_from(FeederParams, scenario.grid)))
    devices = [(feeder.load_index(a.bus), a.spec.p_charge_max_kw) for a in batteries] + \
        [(feeder.load_index(a.bus), a.spec.p_max_kw) for a in chargers]
    return loss_estimate(feeder, devices, scenario.grid.loading_max_percent)


def make_strategy(scenario: Scenario, batteries: list, chargers: list) -> Strategy:
    """The scenario's strategy for these battery and charger assets (``loading.Asset``)."""
    s = scenario.scheduling
    if s.strategy == "rule_based":
        return RuleBasedStrategy(s.evening_start, s.evening_end, s.ev_full_power)
    step_s = scenario.step_s
    forecast = oracle_forecast if s.forecast == "oracle" else persistence_forecast
    run_end = pd.Timestamp(scenario.start) + pd.Timedelta(seconds=scenario.duration_s)
    site = SiteModel(
        battery_ids=[a.id for a in batteries], batteries=[a.spec for a in batteries],
        charger_ids=[a.id for a in chargers],
        charger_p_max_kw=np.array([a.spec.p_max_kw for a in chargers], dtype=float),
        charger_v2g=np.array([a.spec.v2g for a in chargers], dtype=bool),
        step_s=step_s, site_capacity_kw=scenario.grid.trafo_sn_kva,
        run_end=run_end.tz_convert(scenario.site.timezone),
        flex_model=s.flex_model, flex_context=s.flex_context,
        import_to_device_kw=feeder_losses(scenario, batteries, chargers).device_limit_kw,
    )
    server = ServerConfig.from_env() if s.backend == "server" else None
    day_ahead = None
    if s.day_ahead_at is not None:
        t = s.day_ahead_at
        day_ahead = (t.hour * 3600 + t.minute * 60 + t.second) // step_s
    return SchedulingStrategy(
        site=site, forecast=forecast(scenario),
        horizon_steps=parse_duration_s(s.horizon) // step_s,
        replan_steps=None if s.replan_every is None
        else max(1, parse_duration_s(s.replan_every) // step_s),
        day_ahead_step=day_ahead, replan_on_arrival=s.replan_on_arrival,
        backend=s.backend, server=server, asset=s.server_asset,
    )


class ControllerSim(ArraySimulator):
    kinds = {"BatteryCtl": "battery", "ChargerCtl": "ev_charger"}

    def __init__(self):
        super().__init__(META)

    def setup(self):
        sc = self.scenario
        self.strategy = make_strategy(sc, self.assets.get("BatteryCtl", []),
                                      self.assets.get("ChargerCtl", []))
        times = scenario_inputs.step_starts(sc)
        self.pv_series_kw = scenario_inputs.pv_available_kw(sc)
        self.load_series_kw = scenario_inputs.household_load_kw(sc)
        self.hil_pos = hil_positions(resolve_assets(sc))
        self.times = times.to_pydatetime()
        self.price = scenario_inputs.import_price_eur_per_kwh(times, sc.tariff)
        self.setpoints = {"BatteryCtl": np.zeros(0), "ChargerCtl": np.zeros(0)}
        self.plan = None  # the strategy's plan in force, where it has one
        self.charger_rated_p_kw = np.array(
            [a.spec.p_max_kw for a in self.assets.get("ChargerCtl", [])], dtype=float
        )

    def _hil(self, values: np.ndarray, kind: str, inputs: dict, eid: str,
             attr: str) -> np.ndarray:
        """``values`` over the assets of ``kind`` with the HIL devices' as measured."""
        if not self.hil_pos:
            return values
        measured = set_input(inputs, eid, f"hil_{attr}", len(self.hil_pos))
        if measured is None:
            return values
        return overlay(values, self.hil_pos, kind, measured)

    def _state(self, inputs: dict, model: str, attr: str, default: float) -> np.ndarray:
        """A device state over the batteries or chargers, HIL devices as measured."""
        kind = self.kinds[model]
        values = self.input_array(inputs, model, attr, default)
        return self._hil(values, kind, inputs, f"{model.lower()}_set", attr)

    @staticmethod
    def _signals(inputs: dict) -> tuple:
        """The OpenADR VEN's signal windows, where a VEN is connected."""
        values = inputs.get("site", {}).get("grid_signals", {})
        return tuple(tuple(w) for windows in values.values() for w in windows)

    def advance(self, time, inputs):
        k = time // self.step_s
        arr = self._state
        state = SiteState(
            time=self.times[k],
            dt_s=self.step_s,
            pv_p_kw=self._hil(self.pv_series_kw[k], "pv", inputs, "site", "p_avail_kw"),
            load_p_kw=self._hil(self.load_series_kw[k], "load", inputs, "site", "p_kw"),
            battery_p_min_kw=-arr(inputs, "BatteryCtl", "p_discharge_avail_kw", 0.0),
            battery_p_max_kw=arr(inputs, "BatteryCtl", "p_charge_avail_kw", 0.0),
            battery_soc_percent=arr(inputs, "BatteryCtl", "soc_percent", np.nan),
            charger_p_min_kw=-arr(inputs, "ChargerCtl", "p_discharge_avail_kw", 0.0),
            charger_p_max_kw=arr(inputs, "ChargerCtl", "p_charge_avail_kw", 0.0),
            charger_rated_p_kw=self.charger_rated_p_kw,
            step=k,
            battery_e_kwh=arr(inputs, "BatteryCtl", "e_kwh", np.nan),
            charger_ev={a[3:]: arr(inputs, "ChargerCtl", a, np.nan) for a in PLUGGED_EV_ATTRS},
            import_price_eur_per_kwh=float(self.price[k]),
            feed_in_price_eur_per_kwh=self.scenario.tariff.feed_in_price_eur_per_kwh,
            grid_signals=self._signals(inputs),
        )
        out = self.strategy.decide(state)
        self.setpoints = {"BatteryCtl": out.battery_p_kw, "ChargerCtl": out.charger_p_kw}
        n_bat = len(out.battery_p_kw)
        if hasattr(self.strategy, "planned"):
            p, e = self.strategy.planned(k)
            self.plan = {"BatteryCtl": (p[:n_bat], e[:n_bat]),
                         "ChargerCtl": (p[n_bat:], e[n_bat:])}
        expected = getattr(self.strategy, "inflexible_forecast_kw", None)
        self.site_forecast_kw = expected(k) if expected else float("nan")

    def outputs(self, model, attr):
        if model == "Site":
            return [self.site_forecast_kw]
        if attr in PLAN_ATTRS:
            if self.plan is None:
                return np.full(len(self.setpoints[model]), np.nan)
            return self.plan[model][PLAN_ATTRS.index(attr)]
        return self.setpoints[model]
