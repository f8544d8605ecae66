"""The interface every control strategy implements (rule-based now, FlexMeasures next).

Sign convention: positive = consumption / charging / import.

A strategy is a pure function of the site's state at the start of a step: it never
knows whether the devices behind the arrays are simulated or real (HIL bridges).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class SiteState:
    """What a controller sees at the start of the step ``[time, time + dt_s)``."""

    time: dt.datetime  # local, timezone-aware
    dt_s: float
    pv_p_kw: np.ndarray  # available PV power this step, <= 0 [kW]
    load_p_kw: np.ndarray  # household consumption this step, >= 0 [kW]
    battery_p_min_kw: np.ndarray  # most negative feasible battery power, <= 0 [kW]
    battery_p_max_kw: np.ndarray  # most positive feasible battery power, >= 0 [kW]
    battery_soc_percent: np.ndarray
    charger_p_min_kw: np.ndarray  # V2G power the plugged EV can give all step, <= 0 [kW]
    charger_p_max_kw: np.ndarray  # power the plugged EV can take all step (0: none) [kW]
    charger_rated_p_kw: np.ndarray  # charger rating, also for an EV arriving mid-step [kW]
    import_price_eur_per_kwh: float
    feed_in_price_eur_per_kwh: float
    step: int = 0  # index of the step in the run
    battery_e_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))  # stored energy
    # per charger, the EV plugged in (NaN where none): departure_s, e_kwh, e_min_kwh,
    # e_max_kwh, e_target_kwh, eta_charge, eta_discharge
    charger_ev: dict[str, np.ndarray] = field(default_factory=dict)
    # grid operator signals (OpenADR): (start_s, end_s, site_limit_kw, price_eur_per_kwh)
    # windows in simulated seconds; a scheduling strategy plans within them
    grid_signals: tuple = ()


@dataclass(frozen=True)
class Setpoints:
    """AC power setpoints for the step, one per device. [kW]"""

    battery_p_kw: np.ndarray
    charger_p_kw: np.ndarray


class Strategy(Protocol):
    def decide(self, state: SiteState) -> Setpoints: ...
