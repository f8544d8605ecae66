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

from agents.scheduling.device_scheduler import Commitment, Device
from agents.scheduling.flex_model import (
    DeviceModel,
    RequestError,
    ScheduleRequest,
    SensorRef,
    VarQ,
)

SOC_BREACH_DEFAULT_EUR_PER_KWH = 1000.0
SITE_BREACH_DEFAULT_EUR_PER_KW = 10000.0
DEVICE_BREACH_DEFAULT_EUR_PER_KW = 100.0


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


class _Sampler:
    """Variable quantities on the schedule's steps (interval values) or ticks (instants)."""

    def __init__(self, req: ScheduleRequest):
        self.req = req
        self.starts = req.index
        self.ticks = self.starts + req.resolution  # the end of each step

    def steps(self, vq: VarQ | None, fill_sides: bool = False, overlap: str = "first",
              default: float = np.nan) -> np.ndarray:
        n = len(self.starts)
        if vq is None:
            return np.full(n, default)
        if isinstance(vq, SensorRef):
            raise RequestError(f"{vq.where}: a sensor reference needs the server backend "
                               "(--backend server); give the values inline instead")
        if isinstance(vq, float | int):
            return np.full(n, float(vq))
        out = np.full(n, np.nan)
        for start, end, value in vq:
            hit = (self.starts >= start) & (self.starts < end) if end > start else \
                self.starts == start
            out = _resolve(out, np.where(hit, value, np.nan), overlap)
        if fill_sides and not np.isnan(out).all():
            known = np.flatnonzero(~np.isnan(out))
            out[:known[0]] = out[known[0]]
            out[known[-1] + 1:] = out[known[-1]]
        return np.where(np.isnan(out), default, out)

    def ticks_values(self, vq: VarQ | None, overlap: str) -> np.ndarray | None:
        """SoC constraints at the end of each step (the tick ``start + (j+1) res``);
        constraints outside the schedule's window (a plan made after them, or ending
        before them) do not apply."""
        if vq is None:
            return None
        if isinstance(vq, SensorRef):
            return self.steps(vq)
        n = len(self.ticks)
        if isinstance(vq, float | int):
            return np.full(n, float(vq))
        out = np.full(n, np.nan)
        for start, end, value in vq:
            outside = start > self.ticks[-1] or end < self.req.start
            if start == end and not outside and start != self.req.start \
                    and not (self.ticks == start).any():
                raise RequestError(f"SoC constraint at {start.isoformat()} is not on the "
                                   f"schedule's {_iso(self.req.resolution)} ticks")
            hit = (self.ticks >= start) & (self.ticks <= end)
            out = _resolve(out, np.where(hit, value, np.nan), overlap)
        return out


def _resolve(old: np.ndarray, new: np.ndarray, overlap: str) -> np.ndarray:
    if overlap == "min":
        return np.fmin(old, new)
    if overlap == "max":
        return np.fmax(old, new)
    return np.where(np.isnan(old), new, old)


def _iso(td: pd.Timedelta) -> str:
    return pd.Timedelta(td).isoformat()


def build_problem(req: ScheduleRequest) -> Problem:
    """The device_scheduler problem for ``req`` (see the module docstring)."""
    s = _Sampler(req)
    n, k = req.n_steps, pd.Timedelta(hours=1) / req.resolution
    ctx = req.context
    relax_soc = ctx.relax_constraints if ctx.relax_soc_constraints is None \
        else ctx.relax_soc_constraints
    relax_site = ctx.relax_constraints if ctx.relax_site_capacity_constraints is None \
        else ctx.relax_site_capacity_constraints
    soc_min_bp = ctx.soc_minima_breach_price
    soc_max_bp = ctx.soc_maxima_breach_price
    if relax_soc:
        soc_min_bp = SOC_BREACH_DEFAULT_EUR_PER_KWH if soc_min_bp is None else soc_min_bp
        soc_max_bp = SOC_BREACH_DEFAULT_EUR_PER_KWH if soc_max_bp is None else soc_max_bp
    dev_cons_bp, dev_prod_bp = ctx.consumption_breach_price, ctx.production_breach_price
    if ctx.relax_capacity_constraints and dev_cons_bp is None and dev_prod_bp is None:
        dev_cons_bp = dev_prod_bp = DEVICE_BREACH_DEFAULT_EUR_PER_KW

    up_price = s.steps(ctx.consumption_price, fill_sides=True)
    prod = ctx.production_price if ctx.production_price is not None else ctx.consumption_price
    down_price = s.steps(prod, fill_sides=True)
    commitments = [NamedCommitment(Commitment(0.0, up_price / k, down_price / k),
                                   "electricity net energy", "energy")]

    def soft(name, quantity, device, up=None, down=None, kind="flow"):
        """FlexMeasures' pair of commitments: the largest breach and each step's."""
        for each, scale in ((False, 1.0), (True, 1.0 / k)):
            commitments.append(NamedCommitment(Commitment(
                quantity, None if up is None else up * scale,
                None if down is None else down * scale, kind=kind,
                devices=None if device is None else [device], each=each),
                f"{'all' if each else 'any'} {name}", "breach"))

    devices, socs, soc_limits = [], [], {}
    for d, m in enumerate(req.devices):
        dev, s0 = _device(m, d, s, k, soft, dev_cons_bp, dev_prod_bp)
        socs.append(s0)
        if s0 is not None:
            minima = s.ticks_values(m.soc_minima, "max")
            maxima = s.ticks_values(m.soc_maxima, "min")
            targets = s.ticks_values(m.soc_targets, "first")
            soc_limits[d] = {name: v for name, v in (("soc-minima", minima), ("soc-maxima", maxima),
                                                     ("soc-targets", targets)) if v is not None}
            where = f"flex-model[{d}] ({m.name})"
            if soc_min_bp is not None and minima is not None:
                bp = s.steps(soc_min_bp, fill_sides=True)
                soft(f"soc minima {where}", (minima - s0) * k, d, down=-bp, kind="stock")
                minima = None
            if soc_max_bp is not None and maxima is not None:
                bp = s.steps(soc_max_bp, fill_sides=True)
                soft(f"soc maxima {where}", (maxima - s0) * k, d, up=bp, kind="stock")
                maxima = None
            if soc_min_bp is not None and soc_max_bp is not None and targets is not None:
                soft(f"soc targets {where}", (targets - s0) * k, d,
                     up=s.steps(soc_max_bp, fill_sides=True),
                     down=-s.steps(soc_min_bp, fill_sides=True), kind="stock")
                targets = None
            lo, hi, eq = _storage_bounds(m, s0, minima, maxima, targets, n)
            dev.stock_min, dev.stock_max = lo * k, hi * k
            dev.stock_equals = None if eq is None else eq * k
            if m.prefer_charging_sooner and m.soc_max_kwh is not None:
                commitments.append(NamedCommitment(Commitment(
                    (m.soc_max_kwh - s0) * k, 0.0, -_tiny_slope(up_price, m), kind="stock",
                    devices=[d]), f"prefer a full storage {d} sooner", "preference"))
        devices.append(dev)
    n_flex = len(devices)
    for sign, items in ((1.0, ctx.inflexible_consumption), (-1.0, ctx.inflexible_production)):
        for vq in items:
            p = np.nan_to_num(s.steps(vq)) * sign
            devices.append(Device(derivative_min=p, derivative_max=p, derivative_equals=p))

    site_p = s.steps(ctx.site_power_capacity_kw, overlap="min")
    site_c = np.fmin(s.steps(ctx.site_consumption_capacity_kw, overlap="min"), site_p)
    site_g = np.fmin(s.steps(ctx.site_production_capacity_kw, overlap="min"), site_p)
    cons_bp, prod_bp = ctx.site_consumption_breach_price, ctx.site_production_breach_price
    if relax_site:
        cons_bp = SITE_BREACH_DEFAULT_EUR_PER_KW if cons_bp is None else cons_bp
        prod_bp = SITE_BREACH_DEFAULT_EUR_PER_KW if prod_bp is None else prod_bp
    if ctx.site_peak_consumption_price is not None:
        q = s.steps(ctx.site_peak_consumption_kw, fill_sides=True)
        commitments.append(NamedCommitment(Commitment(
            q, s.steps(ctx.site_peak_consumption_price, fill_sides=True), None, each=False),
            "electricity consumption peak", "peak"))
    if ctx.site_peak_production_price is not None:
        q = s.steps(ctx.site_peak_production_kw, fill_sides=True)
        commitments.append(NamedCommitment(Commitment(
            -q, None, -s.steps(ctx.site_peak_production_price, fill_sides=True), each=False),
            "electricity production peak", "peak"))
    if cons_bp is not None:
        soft("site consumption breach", site_c, None, up=s.steps(cons_bp, fill_sides=True))
        ems_max = site_p
    else:
        ems_max = site_c
    if prod_bp is not None:
        soft("site production breach", -site_g, None, down=-s.steps(prod_bp, fill_sides=True))
        ems_min = -site_p
    else:
        ems_min = -site_g
    commitments = [c for c in commitments if not np.isnan(_quantity(c, n)).all()]
    return Problem(req, devices, n_flex, ems_min, ems_max, commitments, socs, k, soc_limits,
                   {"site-consumption-capacity": site_c, "site-production-capacity": site_g})


def _quantity(c: NamedCommitment, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(c.commitment.quantity, dtype=float), (n,))


def _device(m: DeviceModel, d: int, s: _Sampler, k: float, soft, cons_bp, prod_bp):
    """Flow bounds, efficiencies and stock delta of one flexible device."""
    where = f"flex-model[{d}] ({m.name})"
    cons_cap, prod_cap = m.consumption_capacity_kw, m.production_capacity_kw
    if cons_cap is not None and prod_cap is None and _nonzero(cons_cap):
        prod_cap = 0.0
    elif prod_cap is not None and cons_cap is None and _nonzero(prod_cap):
        cons_cap = 0.0
    if m.power_capacity_kw is not None:
        cap = np.clip(s.steps(m.power_capacity_kw, overlap="min"), 0.0, None)
    elif m.consumption_capacity_kw is not None or m.production_capacity_kw is not None:
        cap = np.fmax(s.steps(m.consumption_capacity_kw), s.steps(m.production_capacity_kw))
    else:
        raise RequestError(f"flex-model[{d}].power-capacity: is required for {m.name!r} "
                           "(or a consumption-capacity / production-capacity), e.g. '22 kW'")
    dmin, dmax = -cap, cap.copy()
    g = np.clip(np.fmin(s.steps(prod_cap, overlap="min"), cap), 0.0, None)
    g = np.where(np.isnan(g), cap, g)
    if prod_bp is not None and m.production_capacity_kw is not None and np.nanmax(g) > 0:
        soft(f"production breach {where}", -g, d, down=-s.steps(prod_bp, fill_sides=True))
    else:
        dmin = -g
    c = np.clip(np.fmin(s.steps(cons_cap, overlap="min"), cap), 0.0, None)
    c = np.where(np.isnan(c), cap, c)
    if cons_bp is not None and m.consumption_capacity_kw is not None and np.nanmax(c) > 0:
        soft(f"consumption breach {where}", c, d, up=s.steps(cons_bp, fill_sides=True))
    else:
        dmax = c
    if m.roundtrip_efficiency is not None:
        eta_up = eta_down = np.full(len(cap), m.roundtrip_efficiency ** 0.5)
    else:
        eta_up = s.steps(m.charging_efficiency, default=1.0)
        eta_down = s.steps(m.discharging_efficiency, default=1.0)
    storage = np.clip(s.steps(m.storage_efficiency, default=1.0), 0.0, 1.0)
    delta = sum((np.nan_to_num(s.steps(v)) for v in m.soc_gain_kw), np.zeros(len(cap)))
    delta = delta - sum((np.nan_to_num(s.steps(v)) for v in m.soc_usage_kw), np.zeros(len(cap)))
    s0 = m.soc_at_start_kwh
    if s0 is None and m.has_absolute_soc:
        s0 = 0.0
    dev = Device(derivative_min=dmin, derivative_max=dmax, up_efficiency=eta_up,
                 down_efficiency=eta_down, storage_efficiency=storage, stock_delta=delta,
                 initial_stock=0.0 if s0 is None else s0 * k)
    return dev, s0


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
