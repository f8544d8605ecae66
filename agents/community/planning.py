"""A participant's own storage plan (``market.flex: scheduler``): the built-in
FlexMeasures storage scheduler of the scheduling issue, run over one meter.

Sign convention: positive = consumption / charging / import.

The plan covers the participant's batteries and EV chargers against the tariff, with
its own households and PV as the inflexible load; it is re-made every hour, when an
EV plugs in and when it runs out (``SchedulingStrategy``'s cadence), over 24 h. The
agent then trades what the plan says each device will draw or give in the slot, and
the plan, not the trades, sets the devices: what the market did not cover is settled
by the utility.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from agents.community.agents import BatteryUnit, ChargerUnit, after_slot
from agents.control.scheduling import SchedulingStrategy
from agents.control.strategy import SiteState
from agents.scheduling.live_request import SiteModel

HORIZON_H, REPLAN_H = 24, 1
EV_KEYS = ("departure_s", "e_kwh", "e_min_kwh", "e_max_kwh", "e_target_kwh", "eta_charge",
           "eta_discharge")


def make_planner(batteries: list, chargers: list, load_kw: np.ndarray, pv_kw: np.ndarray,
                 price_eur: np.ndarray, feed_in_eur: float, step_s: int,
                 run_end: pd.Timestamp) -> SchedulingStrategy:
    """``batteries``/``chargers``: the participant's scenario assets (``loading.Asset``);
    ``load_kw``/``pv_kw``: its households and PV per step of the run (oracle forecast)."""
    site = SiteModel(
        battery_ids=[a.id for a in batteries], batteries=[a.spec for a in batteries],
        charger_ids=[a.id for a in chargers],
        charger_p_max_kw=np.array([a.spec.p_max_kw for a in chargers], dtype=float),
        charger_v2g=np.zeros(len(chargers), dtype=bool), step_s=step_s, run_end=run_end)
    net = load_kw + pv_kw
    total, day = len(net), int(round(86400 / step_s))

    def forecast(k: int, n: int):
        idx = np.arange(k, k + n)
        if total >= day:  # past the run: its last day again
            idx = np.where(idx < total, idx, total - day + (idx - total) % day)
        idx = np.minimum(idx, total - 1)
        return net[idx], price_eur[idx], np.full(n, feed_in_eur)

    per_h = int(round(3600 / step_s))
    return SchedulingStrategy(site=site, forecast=forecast, horizon_steps=HORIZON_H * per_h,
                              replan_steps=max(1, REPLAN_H * per_h))


def planned_kw(planner: SchedulingStrategy, slot: int, when: dt.datetime, step_s: int,
               batteries: list[BatteryUnit], chargers: list[ChargerUnit],
               setpoint_kw: dict[str, float], load_kw: float, pv_kw: float,
               price_eur: float, feed_in_eur: float) -> dict[str, float]:
    """The plan's power for slot ``slot`` per device, from the state the devices are
    expected to have at its start (the current slot's set-points applied). [kW]"""
    dt_h = step_s / 3600.0
    e = np.array([b.expected_e_kwh(setpoint_kw[b.id], dt_h) for b in batteries])
    views = {k: np.full(len(chargers), np.nan) for k in EV_KEYS}
    for j, c in enumerate(chargers):
        if c.ev and np.isfinite(c.ev.get("departure_s", np.nan)):
            for k in EV_KEYS:
                views[k][j] = c.ev.get(k, np.nan)
            views["e_kwh"][j] = after_slot(c.ev["e_kwh"], setpoint_kw[c.id], dt_h,
                                           c.ev.get("eta_charge", 1.0), 1.0)
    plugged = np.isfinite(views["departure_s"]) & (views["departure_s"] >= (slot + 1) * step_s)
    views["departure_s"] = np.where(plugged, views["departure_s"], np.nan)
    rated = np.array([c.p_max_kw for c in chargers], dtype=float)
    ids = [b.id for b in batteries] + [c.id for c in chargers]
    if not batteries and not plugged.any():  # nothing to plan: no request to make
        return dict.fromkeys(ids, 0.0)
    state = SiteState(
        time=when, dt_s=step_s, pv_p_kw=np.array([pv_kw]), load_p_kw=np.array([load_kw]),
        battery_p_min_kw=np.array([-min(b.p_discharge_max_kw,
                                        (x - b.e_min_kwh) * b.eta_discharge / dt_h)
                                   for b, x in zip(batteries, e, strict=True)]),
        battery_p_max_kw=np.array([min(b.p_charge_max_kw, (b.e_max_kwh - x) / b.eta_charge
                                       / dt_h) for b, x in zip(batteries, e, strict=True)]),
        battery_soc_percent=np.full(len(batteries), np.nan),
        charger_p_min_kw=np.zeros(len(chargers)),
        charger_p_max_kw=np.where(plugged, rated, 0.0), charger_rated_p_kw=rated,
        import_price_eur_per_kwh=price_eur, feed_in_price_eur_per_kwh=feed_in_eur,
        step=slot, battery_e_kwh=e, charger_ev=views)
    out = planner.decide(state)
    return dict(zip(ids, [*out.battery_p_kw, *out.charger_p_kw], strict=True))
