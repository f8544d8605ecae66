"""Vectorised battery fleet: energy balance with efficiencies and self-discharge.

Sign convention: positive = consumption / charging. ``p_kw > 0`` charges the
battery from the AC side, ``p_kw < 0`` discharges it (injection to the grid).

Model equation of one step of length ``dt`` (``dt_h = dt_s / 3600``), per battery::

    a       = exp(-k * dt_s),    k = -ln(1 - self_discharge_percent_per_day / 100) / 86400
    e_new   = a * e_old + eta_c * max(p, 0) * dt_h + min(p, 0) / eta_d * dt_h

so an idle battery loses exactly ``self_discharge_percent_per_day`` percent of its
stored energy per day. Self-discharge acts on the energy at the start of the step
(``e_self_discharge_kwh = (1 - a) * e_old``), which makes the identity

    e_new - e_old = eta_c * max(p, 0) * dt_h + min(p, 0) / eta_d * dt_h - e_self_discharge_kwh

exact. The AC losses of the step are ``e_loss_kwh = p * dt_h - (e_new - e_old) >= 0``.

Power is clipped first to the converter limits, then to the exact power that
lands the stored energy on ``e_max = soc_max * capacity`` (charging) or
``e_min = soc_min * capacity`` (discharging), by solving the step equation for p::

    p_hi = (e_max - a * e_old) / (eta_c * dt_h)
    p_lo = (e_min - a * e_old) * eta_d / dt_h

The window always contains 0: the battery never charges on its own, so an idle
battery sitting at ``soc_min`` may drift slightly below it by self-discharge only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class BatteryParams:
    """Parameters of one battery.

    Attributes
    ----------
    capacity_kwh : Usable nameplate energy capacity. [kWh]
    p_charge_max_kw : Maximum AC charging power. [kW]
    p_discharge_max_kw : Maximum AC discharging power (magnitude). [kW]
    eta_charge : Charging efficiency, AC to stored. [-]
    eta_discharge : Discharging efficiency, stored to AC. [-]
    self_discharge_percent_per_day : Stored energy lost per day when idle. [%/day]
    soc_min_percent, soc_max_percent : State-of-charge window. [%]
    soc_initial_percent : State of charge at creation. [%]
    """

    capacity_kwh: float = 100.0
    p_charge_max_kw: float = 50.0
    p_discharge_max_kw: float = 50.0
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    self_discharge_percent_per_day: float = 0.1
    soc_min_percent: float = 5.0
    soc_max_percent: float = 95.0
    soc_initial_percent: float = 50.0

    def __post_init__(self) -> None:
        checks = {
            "capacity_kwh": (self.capacity_kwh > 0, "> 0"),
            "p_charge_max_kw": (self.p_charge_max_kw >= 0, ">= 0"),
            "p_discharge_max_kw": (self.p_discharge_max_kw >= 0, ">= 0"),
            "eta_charge": (0 < self.eta_charge <= 1, "in (0, 1]"),
            "eta_discharge": (0 < self.eta_discharge <= 1, "in (0, 1]"),
            "self_discharge_percent_per_day": (
                0 <= self.self_discharge_percent_per_day < 100,
                "in [0, 100)",
            ),
            "soc_min_percent": (0 <= self.soc_min_percent <= self.soc_max_percent, "in [0, soc_max_percent]"),
            "soc_max_percent": (self.soc_max_percent <= 100, "<= 100"),
            "soc_initial_percent": (
                self.soc_min_percent <= self.soc_initial_percent <= self.soc_max_percent,
                "in [soc_min_percent, soc_max_percent]",
            ),
        }
        for name, (ok, allowed) in checks.items():
            if not ok:
                raise ValueError(f"BatteryParams.{name}={getattr(self, name)!r}: must be {allowed}")


def self_discharge_factor(self_discharge_percent_per_day, dt_s: float) -> np.ndarray:
    """Fraction of stored energy kept after ``dt_s`` of self-discharge.

    Parameters
    ----------
    self_discharge_percent_per_day : array_like
        Stored energy lost per day. [%/day]
    dt_s : float
        Duration. [s]

    Returns
    -------
    numpy.ndarray
        ``a = (1 - x / 100) ** (dt_s / 86400)``. [-]
    """
    x = np.asarray(self_discharge_percent_per_day, dtype=float) / 100.0
    return np.exp(np.log1p(-x) * dt_s / SECONDS_PER_DAY)


class BatteryFleet:
    """A fleet of batteries stepped together; every attribute is an array, one entry per battery.

    Parameters
    ----------
    params : list of BatteryParams
        One entry per battery.
    dt_s : float, optional
        Step length used for the availability attributes before the first step. [s]

    Attributes
    ----------
    p_kw : AC power actually delivered in the last step, signed. [kW]
    p_set_kw : Last requested AC power setpoint. [kW]
    p_deviation_kw : ``p_set_kw - p_kw``. [kW]
    e_kwh : Stored energy. [kWh]
    soc_percent : State of charge, ``100 * e_kwh / capacity_kwh``. [%]
    e_loss_kwh : Conversion plus self-discharge losses of the last step, >= 0. [kWh]
    e_self_discharge_kwh : Self-discharge part of the last step's losses. [kWh]
    e_charge_max_kwh : Stored-energy headroom up to soc_max, ``e_max - e_kwh``. [kWh]
    e_discharge_max_kwh : Stored energy above soc_min, ``e_kwh - e_min`` (may be < 0 by drift). [kWh]
    p_charge_avail_kw : AC charging power possible over a next step of the same length, >= 0. [kW]
    p_discharge_avail_kw : AC discharging power possible over that step, as a magnitude >= 0. [kW]
    """

    def __init__(self, params: list[BatteryParams], dt_s: float = 900.0):
        self.params = list(params)

        def col(name: str) -> np.ndarray:
            return np.array([getattr(p, name) for p in self.params], dtype=float)

        self.capacity_kwh = col("capacity_kwh")
        self.p_charge_max_kw = col("p_charge_max_kw")
        self.p_discharge_max_kw = col("p_discharge_max_kw")
        self.eta_charge = col("eta_charge")
        self.eta_discharge = col("eta_discharge")
        self.self_discharge_percent_per_day = col("self_discharge_percent_per_day")
        self.e_min_kwh = col("soc_min_percent") / 100.0 * self.capacity_kwh
        self.e_max_kwh = col("soc_max_percent") / 100.0 * self.capacity_kwh
        self.e_kwh = col("soc_initial_percent") / 100.0 * self.capacity_kwh
        zeros = np.zeros(len(self.params))
        self.p_kw = zeros.copy()
        self.p_set_kw = zeros.copy()
        self.p_deviation_kw = zeros.copy()
        self.e_loss_kwh = zeros.copy()
        self.e_self_discharge_kwh = zeros.copy()
        self._factors: dict[float, np.ndarray] = {}
        self._update_availability(dt_s)

    def __len__(self) -> int:
        return len(self.params)

    @property
    def soc_percent(self) -> np.ndarray:
        """State of charge. [%]"""
        return 100.0 * self.e_kwh / self.capacity_kwh

    def available_p_kw(self, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
        """AC power window that can be held for a whole step of ``dt_s``.

        Parameters
        ----------
        dt_s : float
            Step length. [s]

        Returns
        -------
        p_min_kw : numpy.ndarray
            Most negative (discharging) power, <= 0. [kW]
        p_max_kw : numpy.ndarray
            Most positive (charging) power, >= 0. [kW]
        """
        dt_h = dt_s / 3600.0
        e_kept_kwh = self.e_kwh * self._factor(dt_s)
        p_hi_kw = (self.e_max_kwh - e_kept_kwh) / (self.eta_charge * dt_h)
        p_lo_kw = (self.e_min_kwh - e_kept_kwh) * self.eta_discharge / dt_h
        p_max_kw = np.clip(p_hi_kw, 0.0, self.p_charge_max_kw)
        p_min_kw = np.clip(p_lo_kw, -self.p_discharge_max_kw, 0.0)
        return p_min_kw, p_max_kw

    def step(self, p_set_kw, dt_s: float) -> None:
        """Apply AC setpoints for ``dt_s`` and deliver what is physically possible.

        Parameters
        ----------
        p_set_kw : array_like
            Requested AC power per battery, positive = charging. [kW]
        dt_s : float
            Step length, > 0. [s]
        """
        p_set_kw = np.broadcast_to(np.asarray(p_set_kw, dtype=float), self.e_kwh.shape).copy()
        dt_h = dt_s / 3600.0
        a = self._factor(dt_s)
        if dt_s == self._avail_dt_s:  # the window computed at the end of the last step
            p_min_kw, p_max_kw = -self.p_discharge_avail_kw, self.p_charge_avail_kw
        else:
            p_min_kw, p_max_kw = self.available_p_kw(dt_s)
        p_kw = np.clip(p_set_kw, p_min_kw, p_max_kw)

        e_old_kwh = self.e_kwh
        e_self_discharge_kwh = (1.0 - a) * e_old_kwh
        e_new_kwh = (
            e_old_kwh
            - e_self_discharge_kwh
            + self.eta_charge * np.maximum(p_kw, 0.0) * dt_h
            + np.minimum(p_kw, 0.0) / self.eta_discharge * dt_h
        )
        # Remove sub-ulp overshoot where a bound was hit (changes e by ~1e-14 kWh).
        e_new_kwh = np.minimum(e_new_kwh, np.maximum(self.e_max_kwh, e_old_kwh))
        e_new_kwh = np.where(p_kw < 0.0, np.maximum(e_new_kwh, self.e_min_kwh), e_new_kwh)

        self.p_set_kw = p_set_kw
        self.p_kw = p_kw
        self.p_deviation_kw = p_set_kw - p_kw
        self.e_self_discharge_kwh = e_self_discharge_kwh
        self.e_loss_kwh = p_kw * dt_h - (e_new_kwh - e_old_kwh)
        self.e_kwh = e_new_kwh
        self._update_availability(dt_s)

    def _factor(self, dt_s: float) -> np.ndarray:
        """Self-discharge factor over ``dt_s``, computed once per step length."""
        factor = self._factors.get(dt_s)
        if factor is None:
            factor = self._factors[dt_s] = self_discharge_factor(
                self.self_discharge_percent_per_day, dt_s)
        return factor

    def _update_availability(self, dt_s: float) -> None:
        self._avail_dt_s = dt_s
        self.e_charge_max_kwh = self.e_max_kwh - self.e_kwh
        self.e_discharge_max_kwh = self.e_kwh - self.e_min_kwh
        p_min_kw, p_max_kw = self.available_p_kw(dt_s)
        self.p_charge_avail_kw = p_max_kw
        self.p_discharge_avail_kw = -p_min_kw
