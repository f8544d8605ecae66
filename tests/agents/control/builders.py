"""Builders shared by the control and scheduling tests: a one-battery, one-charger site
state and a small scheduling strategy over a given price series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.control.scheduling import SchedulingStrategy
from agents.control.strategy import SiteState
from agents.scheduling.live_request import SiteModel
from twin.scenario.specs import BatterySpec

T0 = pd.Timestamp("2026-06-01T00:00:00-04:00")


def site_state(step, e_kwh, ev_departure_s=np.nan):
    nan = np.array([np.nan])
    return SiteState(
        time=T0 + pd.Timedelta(minutes=15 * step), dt_s=900.0, pv_p_kw=np.zeros(1), load_p_kw=np.zeros(1),
        battery_p_min_kw=np.array([-10.0]), battery_p_max_kw=np.array([10.0]),
        battery_soc_percent=np.array([50.0]), charger_p_min_kw=np.zeros(1),
        charger_p_max_kw=np.array([7.0]), charger_rated_p_kw=np.array([7.0]),
        import_price_eur_per_kwh=0.2, feed_in_price_eur_per_kwh=0.1, step=step,
        battery_e_kwh=np.array([e_kwh]),
        charger_ev={"departure_s": np.array([ev_departure_s]), "e_kwh": np.array([20.0]),
                    "e_min_kwh": np.array([5.0]), "e_max_kwh": np.array([50.0]),
                    "e_target_kwh": np.array([30.0]), "eta_charge": np.array([1.0]),
                    "eta_discharge": np.array([1.0])} if np.isfinite(ev_departure_s)
        else {k: nan for k in ("departure_s", "e_kwh", "e_min_kwh", "e_max_kwh",
                               "e_target_kwh", "eta_charge", "eta_discharge")},
    )


def small_strategy(price, **kw):
    n = len(price)

    def forecast(k, horizon):
        idx = np.arange(k, min(k + horizon, n))
        return np.full(len(idx), 2.0), price[idx], np.full(len(idx), 0.0)

    battery = BatterySpec(capacity_kwh=20.0, p_charge_max_kw=10.0, p_discharge_max_kw=10.0,
                          eta_charge=1.0, eta_discharge=1.0, self_discharge_percent_per_day=0.0,
                          soc_min_percent=0.0, soc_max_percent=100.0, soc_initial_percent=50.0)
    site = SiteModel(["battery_00"], [battery], ["ev_charger_00"], np.array([7.0]),
                     np.array([False]), 900, **kw.pop("site", {}))
    return SchedulingStrategy(site, forecast, **{"horizon_steps": 8, "replan_steps": 4, **kw})
