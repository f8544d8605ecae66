"""The emulated charger and EV behind an OCPP station: a small pure model.

Sign convention: positive = consumption / charging / import; this EV only charges
(OCPP 2.0.1 charging profiles cannot ask for discharge).

The EV accepts power until its SoC reaches ``soc_target_percent``, the charge limit
its driver set, which is also what its energy request asks for. Energy drawn from the
grid ``e_kwh`` reaches the battery times ``eta_charge``::

    p = min(limit, p_charger_max, p_ev_max, p that reaches the target in dt)
    e_kwh += p * dt / 3600
    soc_percent += 100 * p * eta_charge * dt / 3600 / capacity_kwh
"""

from __future__ import annotations

from dataclasses import dataclass

S_PER_H = 3600.0


@dataclass
class EvSession:
    """One EV plugged into one charger.

    Attributes
    ----------
    capacity_kwh : float
        Usable battery capacity. [kWh]
    soc_percent : float
        State of charge now. [%]
    soc_target_percent : float
        Charge limit and target at departure. [%]
    p_ev_max_kw : float
        On-board charger limit. [kW]
    p_charger_max_kw : float
        Charger rating. [kW]
    eta_charge : float
        Grid-to-battery efficiency. [-]
    e_kwh : float
        Energy drawn from the grid in this session. [kWh]
    """

    capacity_kwh: float
    soc_percent: float
    soc_target_percent: float
    p_ev_max_kw: float
    p_charger_max_kw: float
    eta_charge: float = 1.0
    e_kwh: float = 0.0

    @property
    def p_max_kw(self) -> float:
        """Most the pair can take: min(charger, EV). [kW]"""
        return min(self.p_ev_max_kw, self.p_charger_max_kw)

    def e_to_target_kwh(self) -> float:
        """Grid energy still needed to reach the target. [kWh]"""
        gap = max(self.soc_target_percent - self.soc_percent, 0.0)
        return gap / 100.0 * self.capacity_kwh / self.eta_charge

    def power_kw(self, limit_kw: float | None, dt_s: float = 0.0) -> float:
        """Power taken under ``limit_kw`` (None: no limit) over the next ``dt_s``. [kW]"""
        p = self.p_max_kw if limit_kw is None else min(max(limit_kw, 0.0), self.p_max_kw)
        e_left = self.e_to_target_kwh()
        if e_left <= 1e-9:
            return 0.0
        if dt_s > 0:
            p = min(p, e_left * S_PER_H / dt_s)
        return p

    def advance(self, p_kw: float, dt_s: float) -> float:
        """Charge at ``p_kw`` for ``dt_s`` scenario seconds; returns the energy. [kWh]"""
        if dt_s <= 0 or p_kw <= 0:
            return 0.0
        e = p_kw * dt_s / S_PER_H
        self.e_kwh += e
        self.soc_percent = min(self.soc_percent + 100.0 * e * self.eta_charge
                               / self.capacity_kwh, 100.0)
        return e
