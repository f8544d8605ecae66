"""FlexMeasures' StorageScheduler semantics: a request becomes device_scheduler input.

Follows FlexMeasures 1.0.1 (``data/models/planning/storage.py``) for storage devices
behind one electricity connection. Units: power in kW, the stock in kW x step
(``k = 1 h / resolution`` steps per hour; a SoC ``e`` [kWh] is the stock ``e k``),
prices per kW per step (an energy price ``p`` [EUR/kWh] costs ``p / k`` per kW and step).
Sign convention: positive = consumption / charging.

Per flexible device d:

- flow bounds ``-P <= p <= P`` from ``power-capacity`` (else the larger directional
  capacity); ``consumption-capacity`` C and ``production-capacity`` G are capped at P
  (a missing one means P, but only one given and non-zero means the other is 0), and
  bound the flow hard, or softly at the device breach prices when
  ``relax-capacity-constraints`` (default 100 EUR/kW) or an explicit price asks;
- efficiencies: ``roundtrip-efficiency`` r gives ``sqrt(r)`` each way, else
  ``charging-efficiency`` / ``discharging-efficiency`` (default 1); ``storage-efficiency``
  per step (a in ``S' = a S + (a - 1)/ln(a) change``);
- ``soc-gain`` minus ``soc-usage`` [kW] as the stock delta;
- the stock exists only with ``soc-at-start`` or an absolute SoC constraint (then a
  missing ``soc-at-start`` is 0). A SoC constraint at time t bounds the stock at the end
  of the step starting at ``t - resolution``: ``(soc(t) - soc_at_start) k``;
- ``soc-min`` / ``soc-max`` are hard; ``soc-minima`` / ``soc-maxima`` are hard unless a
  breach price exists, ``soc-targets`` (equalities) unless both exist. With
  ``relax-constraints`` (default true) the breach prices default to 1000 EUR/kWh, and a
  soft constraint is priced twice (FlexMeasures' "any" and "all" commitments): the
  largest breach at the price, and each step's breach at price / k;
- ``prefer-charging-sooner`` (default true, with ``soc-max``): a tiny price on the stock
  being below ``soc-max``, ``1e-4 x price spread / N`` falling to 0 over the window
  (constant when ``prefer-curtailing-later`` is false).

Site: the inflexible devices are fixed flows; the site's net flow ``sum_d p_d`` is
bounded by ``site-power-capacity`` hard; ``site-consumption-capacity`` and
``site-production-capacity`` (capped at it) are hard, or soft at their breach prices
(default 10000 EUR/kW with relax-constraints); optional peak commitments price the
largest import above ``site-peak-consumption`` (default 0 kW) at
``site-peak-consumption-price`` (and likewise for production). One net-energy commitment
prices each step's net import at ``consumption-price`` and net export at
``production-price`` (default: the consumption price); price series are extended to
the window's edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from agents.scheduling.breach_prices import BreachPrices
from agents.scheduling.device_scheduler import Commitment, Device, nan_to_zero
from agents.scheduling.flex_model import (
    DeviceModel,
    RequestError,
    ScheduleRequest,
    SensorRef,
)
from agents.scheduling.sampling import StepSampler


@dataclass
class NamedCommitment:
    commitment: Commitment
    name: str
    kind: str  # "energy", "breach" or "preference"


@dataclass
class Problem:
    """device_scheduler input plus what is needed to read its solution."""

    request: ScheduleRequest
    devices: list[Device]  # flexible devices first, then the inflexible ones
    n_flexible: int
    ems_min: np.ndarray
    ems_max: np.ndarray
    commitments: list[NamedCommitment]
    soc_at_start_kwh: list[float | None]
    steps_per_hour: float
    # the SoC constraints as asked, soft or hard: device index -> {"soc-minima": kWh at the
    # end of each step (NaN: none), ...}; and the site's consumption/production limits [kW]
    soc_limits: dict = field(default_factory=dict)
    site_limits_kw: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.request.n_steps


@dataclass
class ProblemModel:
    """The problem while the ``define_*`` functions add to it (PyPSA's ``n.model``).

    ``k`` is the steps per hour [1/h]: an energy ``e`` [kWh] is the stock ``e k``
    [kW x step], an energy price ``p`` [EUR/kWh] costs ``p / k`` per kW and step.
    """

    req: ScheduleRequest
    sampler: StepSampler
    k: float
    breach: BreachPrices
    up_price_eur_per_kwh: np.ndarray | None = None  # the consumption price on the steps
    devices: list[Device] = field(default_factory=list)
    commitments: list[NamedCommitment] = field(default_factory=list)
    soc_at_start_kwh: list[float | None] = field(default_factory=list)
    soc_limits: dict = field(default_factory=dict)
    ems_min: np.ndarray | None = None
    ems_max: np.ndarray | None = None
    site_limits_kw: dict = field(default_factory=dict)

    @classmethod
    def for_request(cls, req: ScheduleRequest) -> ProblemModel:
        return cls(req, StepSampler(req), pd.Timedelta(hours=1) / req.resolution,
                   BreachPrices.from_context(req.context))

    @property
    def n(self) -> int:
        return self.req.n_steps

    def add_breach(self, name: str, quantity, device: int | None, up=None, down=None,
                   kind: str = "flow") -> None:
        """FlexMeasures' pair of soft commitments on ``quantity`` ([kW] or [kW x step]).

        ``any``: the largest breach over the window at ``up`` / ``down``; ``all``: each
        step's breach at ``up / k`` / ``down / k`` (prices per kW or per kWh of stock).
        """
        for each, scale in ((False, 1.0), (True, 1.0 / self.k)):
            self.commitments.append(NamedCommitment(Commitment(
                quantity, None if up is None else up * scale,
                None if down is None else down * scale, kind=kind,
                devices=None if device is None else [device], each=each),
                f"{'all' if each else 'any'} {name}", "breach"))

    def to_problem(self) -> Problem:
        """The finished problem; commitments with no quantity on any step are dropped."""
        n = self.n
        commitments = [c for c in self.commitments if not np.isnan(_quantity(c, n)).all()]
        return Problem(self.req, self.devices, len(self.req.devices), self.ems_min,
                       self.ems_max, commitments, self.soc_at_start_kwh, self.k,
                       self.soc_limits, self.site_limits_kw)


def build_problem(req: ScheduleRequest) -> Problem:
    """The device_scheduler problem for ``req`` (see the module docstring).

    Built as PyPSA builds its model: one ``define_*`` call per family of variables or
    constraints, in the order that fixes the commitments' order in the problem.
    """
    m = ProblemModel.for_request(req)
    define_energy_cost(m)
    for d, device in enumerate(req.devices):
        define_device_bounds(m, d, device)
        define_soc_commitments(m, d, device)
        define_preference(m, d, device)
    define_inflexible_devices(m)
    define_peaks(m)
    define_site_capacity(m)
    return m.to_problem()


def define_energy_cost(m: ProblemModel) -> None:
    """The net-energy commitment: each step's net import and export at the tariff.

    ``cost = sum_t (c_t up_t + g_t down_t) / k``,  ``sum_d P[d,t] = up_t + down_t``,
    ``up_t >= 0 >= down_t``

    with the site's net flow ``P`` [kW], the consumption price ``c`` [EUR/kWh] and the
    production price ``g`` [EUR/kWh] (default: ``c``), both extended to the window's
    edges, and ``1 / k`` the step [h].
    """
    ctx, s = m.req.context, m.sampler
    up_price = s.steps(ctx.consumption_price, fill_sides=True)
    prod = ctx.production_price if ctx.production_price is not None else ctx.consumption_price
    down_price = s.steps(prod, fill_sides=True)
    m.up_price_eur_per_kwh = up_price
    m.commitments.append(NamedCommitment(Commitment(0.0, up_price / m.k, down_price / m.k),
                                         "electricity net energy", "energy"))


def define_device_bounds(m: ProblemModel, d: int, dm: DeviceModel) -> None:
    """Flexible device ``d``: flow bounds, efficiencies, stock delta and start stock.

    ``-G[t] <= P[d,t] <= C[t]``,  ``G, C <= P_cap``  [kW]

    with the power capacity ``P_cap`` (else the larger directional capacity), the
    consumption / production capacities ``C`` / ``G``; with a device breach price
    ``b`` [EUR/kW] the bound becomes ``-P_cap <= P <= P_cap`` plus the soft pair
    ``b max_t (P - C)^+ + sum_t b / k (P[t] - C[t])^+`` (likewise for ``G``).
    ``S[d,t] = a S[d,t-1] + b_a (P^- / eta_down + P^+ eta_up + gain - usage)``,
    ``S[d,-1] = soc_at_start k`` [kW x step].
    """
    cap = _power_capacity_kw(m, d, dm)
    dmin, dmax = _production_bound_kw(m, d, dm, cap), _consumption_bound_kw(m, d, dm, cap)
    eta_up, eta_down = _efficiencies(m.sampler, dm, len(cap))
    s = m.sampler
    storage = np.clip(s.steps(dm.storage_efficiency, default=1.0), 0.0, 1.0)
    delta = sum((nan_to_zero(s.steps(v)) for v in dm.soc_gain_kw), np.zeros(len(cap)))
    delta = delta - sum((nan_to_zero(s.steps(v)) for v in dm.soc_usage_kw),
                        np.zeros(len(cap)))
    s0 = dm.soc_at_start_kwh
    if s0 is None and dm.has_absolute_soc:
        s0 = 0.0
    m.devices.append(Device(derivative_min=dmin, derivative_max=dmax, up_efficiency=eta_up,
                            down_efficiency=eta_down, storage_efficiency=storage,
                            stock_delta=delta, initial_stock=0.0 if s0 is None else s0 * m.k))
    m.soc_at_start_kwh.append(s0)


def _directional_capacities(dm: DeviceModel) -> tuple:
    """Consumption and production capacity [kW]: one given and non-zero makes the other 0."""
    cons_cap, prod_cap = dm.consumption_capacity_kw, dm.production_capacity_kw
    if cons_cap is not None and prod_cap is None and _nonzero(cons_cap):
        prod_cap = 0.0
    elif prod_cap is not None and cons_cap is None and _nonzero(prod_cap):
        cons_cap = 0.0
    return cons_cap, prod_cap


def _power_capacity_kw(m: ProblemModel, d: int, dm: DeviceModel) -> np.ndarray:
    """``P_cap`` per step [kW]: power-capacity, else the larger directional capacity."""
    s = m.sampler
    if dm.power_capacity_kw is not None:
        return np.clip(s.steps(dm.power_capacity_kw, overlap="min"), 0.0, None)
    if dm.consumption_capacity_kw is not None or dm.production_capacity_kw is not None:
        return np.fmax(s.steps(dm.consumption_capacity_kw), s.steps(dm.production_capacity_kw))
    raise RequestError(f"flex-model[{d}].power-capacity: is required for {dm.name!r} "
                       "(or a consumption-capacity / production-capacity), e.g. '22 kW'")


def _production_bound_kw(m: ProblemModel, d: int, dm: DeviceModel,
                         cap: np.ndarray) -> np.ndarray:
    """The flow's lower bound ``-G`` [kW], or ``-P_cap`` with G's soft breach pair."""
    s, prod_bp = m.sampler, m.breach.device_production
    g = np.clip(np.fmin(s.steps(_directional_capacities(dm)[1], overlap="min"), cap), 0.0, None)
    g = np.where(np.isnan(g), cap, g)
    if prod_bp is not None and dm.production_capacity_kw is not None and np.nanmax(g) > 0:
        m.add_breach(f"production breach {_where(d, dm)}", -g, d,
                     down=-s.steps(prod_bp, fill_sides=True))
        return -cap
    return -g


def _consumption_bound_kw(m: ProblemModel, d: int, dm: DeviceModel,
                          cap: np.ndarray) -> np.ndarray:
    """The flow's upper bound ``C`` [kW], or ``P_cap`` with C's soft breach pair."""
    s, cons_bp = m.sampler, m.breach.device_consumption
    c = np.clip(np.fmin(s.steps(_directional_capacities(dm)[0], overlap="min"), cap), 0.0, None)
    c = np.where(np.isnan(c), cap, c)
    if cons_bp is not None and dm.consumption_capacity_kw is not None and np.nanmax(c) > 0:
        m.add_breach(f"consumption breach {_where(d, dm)}", c, d,
                     up=s.steps(cons_bp, fill_sides=True))
        return cap.copy()
    return c


def _efficiencies(s: StepSampler, dm: DeviceModel, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Charging and discharging efficiency per step [-]: ``sqrt(roundtrip)`` each way,
    else the charging- / discharging-efficiency (default 1)."""
    if dm.roundtrip_efficiency is not None:
        eta = np.full(n, dm.roundtrip_efficiency ** 0.5)
        return eta, eta
    return (s.steps(dm.charging_efficiency, default=1.0),
            s.steps(dm.discharging_efficiency, default=1.0))


def define_soc_commitments(m: ProblemModel, d: int, dm: DeviceModel) -> None:
    """SoC window, minima, maxima and targets of device ``d`` (when it has a stock).

    Hard: ``(lo_t - s0) k <= S[d,t] - S0 <= (hi_t - s0) k`` [kW x step], with ``lo`` /
    ``hi`` the soc-minima / soc-maxima [kWh] filled and clipped by soc-min / soc-max, and
    ``S[d,t] - S0 = (target_t - s0) k``. Soft, where the breach price ``b`` [EUR/kWh]
    exists, e.g. for the minima with ``B_t = ((lo_t - s0) k - (S[d,t] - S0))^+``:
    ``b max_t B_t + sum_t (b / k) B_t`` [EUR] (maxima upwards; targets both ways, only
    when both prices exist).
    """
    s0 = m.soc_at_start_kwh[d]
    if s0 is None:
        return
    s, k, where = m.sampler, m.k, _where(d, dm)
    minima = s.ticks_values(dm.soc_minima, "max")
    maxima = s.ticks_values(dm.soc_maxima, "min")
    targets = s.ticks_values(dm.soc_targets, "first")
    m.soc_limits[d] = {name: v for name, v in (("soc-minima", minima), ("soc-maxima", maxima),
                                               ("soc-targets", targets)) if v is not None}
    min_bp, max_bp = m.breach.soc_min, m.breach.soc_max
    if min_bp is not None and minima is not None:
        m.add_breach(f"soc minima {where}", (minima - s0) * k, d,
                     down=-s.steps(min_bp, fill_sides=True), kind="stock")
        minima = None
    if max_bp is not None and maxima is not None:
        m.add_breach(f"soc maxima {where}", (maxima - s0) * k, d,
                     up=s.steps(max_bp, fill_sides=True), kind="stock")
        maxima = None
    if min_bp is not None and max_bp is not None and targets is not None:
        m.add_breach(f"soc targets {where}", (targets - s0) * k, d,
                     up=s.steps(max_bp, fill_sides=True),
                     down=-s.steps(min_bp, fill_sides=True), kind="stock")
        targets = None
    lo, hi, eq = _storage_bounds(dm, s0, minima, maxima, targets, m.n)
    dev = m.devices[d]
    dev.stock_min, dev.stock_max = lo * k, hi * k
    dev.stock_equals = None if eq is None else eq * k


def define_preference(m: ProblemModel, d: int, dm: DeviceModel) -> None:
    """Prefer charging sooner: a tiny price on the stock being below soc-max.

    ``sum_t eps_t ((soc_max - s0) k - (S[d,t] - S0))^+``  with ``eps_t``
    [EUR per kW x step] falling from ``1e-4 x price spread / N`` to 0 over the window
    (constant when prefer-curtailing-later is false); only with soc-max and a stock.
    """
    s0 = m.soc_at_start_kwh[d]
    if s0 is None or not (dm.prefer_charging_sooner and dm.soc_max_kwh is not None):
        return
    m.commitments.append(NamedCommitment(Commitment(
        (dm.soc_max_kwh - s0) * m.k, 0.0, -_tiny_slope(m.up_price_eur_per_kwh, dm),
        kind="stock", devices=[d]), f"prefer a full storage {d} sooner", "preference"))


def define_inflexible_devices(m: ProblemModel) -> None:
    """Each inflexible series as a device with a fixed flow, after the flexible ones.

    ``P[i,t] = +p_t`` for inflexible-consumption, ``-p_t`` for inflexible-production
    [kW] (a missing value is 0).
    """
    ctx = m.req.context
    for sign, items in ((1.0, ctx.inflexible_consumption), (-1.0, ctx.inflexible_production)):
        for vq in items:
            p = nan_to_zero(m.sampler.steps(vq)) * sign
            m.devices.append(Device(derivative_min=p, derivative_max=p, derivative_equals=p))


def define_peaks(m: ProblemModel) -> None:
    """Peak commitments on the site's net flow ``X_t = sum_d P[d,t]`` [kW].

    ``pi_c max_t (X_t - q_c,t)^+`` with ``q_c`` the site-peak-consumption [kW] (default 0)
    at ``pi_c`` the site-peak-consumption-price [EUR/kW]; production likewise on
    ``(X_t + q_g,t)^-``. Each only when its price is given.
    """
    ctx, s = m.req.context, m.sampler
    if ctx.site_peak_consumption_price is not None:
        q = s.steps(ctx.site_peak_consumption_kw, fill_sides=True)
        m.commitments.append(NamedCommitment(Commitment(
            q, s.steps(ctx.site_peak_consumption_price, fill_sides=True), None, each=False),
            "electricity consumption peak", "peak"))
    if ctx.site_peak_production_price is not None:
        q = s.steps(ctx.site_peak_production_kw, fill_sides=True)
        m.commitments.append(NamedCommitment(Commitment(
            -q, None, -s.steps(ctx.site_peak_production_price, fill_sides=True), each=False),
            "electricity production peak", "peak"))


def define_site_capacity(m: ProblemModel) -> None:
    """The site's net flow ``X_t = sum_d P[d,t]`` [kW] within its capacities.

    ``-G_t <= X_t <= C_t`` with ``C = min(site-consumption-capacity, P_site)`` and ``G``
    likewise; ``P_site`` (site-power-capacity) is always hard. With a site breach price
    ``b`` [EUR/kW] the bound is ``P_site`` and the breach of ``C`` is priced
    ``b max_t (X_t - C_t)^+ + sum_t b / k (X_t - C_t)^+`` (production likewise).
    """
    s, breach = m.sampler, m.breach
    site_p = s.steps(m.req.context.site_power_capacity_kw, overlap="min")
    site_c = np.fmin(s.steps(m.req.context.site_consumption_capacity_kw, overlap="min"), site_p)
    site_g = np.fmin(s.steps(m.req.context.site_production_capacity_kw, overlap="min"), site_p)
    if breach.site_consumption is not None:
        m.add_breach("site consumption breach", site_c, None,
                     up=s.steps(breach.site_consumption, fill_sides=True))
        m.ems_max = site_p
    else:
        m.ems_max = site_c
    if breach.site_production is not None:
        m.add_breach("site production breach", -site_g, None,
                     down=-s.steps(breach.site_production, fill_sides=True))
        m.ems_min = -site_p
    else:
        m.ems_min = -site_g
    m.site_limits_kw = {"site-consumption-capacity": site_c, "site-production-capacity": site_g}


def _where(d: int, dm: DeviceModel) -> str:
    return f"flex-model[{d}] ({dm.name})"


def _quantity(c: NamedCommitment, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(c.commitment.quantity, dtype=float), (n,))


def _nonzero(vq) -> bool:
    if isinstance(vq, SensorRef):
        return True
    if isinstance(vq, list):
        return any(v != 0 for _, _, v in vq)
    return vq != 0


def _storage_bounds(m: DeviceModel, s0: float, minima, maxima, targets, n: int):
    """FlexMeasures' add_storage_constraints, in kWh relative to soc-at-start."""
    lo_c = None if m.soc_min_kwh is None else m.soc_min_kwh - s0
    hi_c = None if m.soc_max_kwh is None else m.soc_max_kwh - s0
    lo = np.full(n, np.nan) if minima is None else minima - s0
    hi = np.full(n, np.nan) if maxima is None else maxima - s0
    if lo_c is not None:
        lo = np.where(np.isnan(lo), lo_c, lo)
    if hi_c is not None:
        hi = np.where(np.isnan(hi), hi_c, hi)
    lo, hi = _clip(lo, lo_c, hi_c), _clip(hi, lo_c, hi_c)
    eq = None if targets is None else targets - s0
    return lo, hi, eq


def _clip(x: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    if lo is not None:
        x = np.where(x < lo, lo, x)
    if hi is not None:
        x = np.where(x > hi, hi, x)
    return x


def _tiny_slope(prices_eur_per_kwh: np.ndarray, m: DeviceModel) -> np.ndarray:
    """FlexMeasures' prefer-charging-sooner penalty (its add_tiny_price_slope, d = 1e-4).

    FlexMeasures computes it on prices in EUR/MWh and prices a stock in MW x step; in
    kW and EUR/kWh the same cost needs the same numbers / 1000, which the spread does by
    itself; the flat-price fallback (1e-4 / N EUR/MWh) is scaled here.
    """
    n = len(prices_eur_per_kwh)
    spread = np.nanmax(prices_eur_per_kwh) - np.nanmin(prices_eur_per_kwh)
    top = spread * 1e-4 / n if spread > 0 else 1e-4 / n / 1000.0
    slope = np.linspace(top, 0.0, n)
    return slope if m.prefer_curtailing_later else np.full(n, slope[0])
