"""What a schedule costs and which soft constraints it breaches, whoever computed it.

Given a :class:`~agents.scheduling.storage_problem.Problem` and the flexible devices'
power (kW, positive = consumption), the stock follows the device_scheduler dynamics
``S[j] = a S[j-1] + b (down / eta_down + up eta_up + delta)`` and each commitment's cost
is what the optimiser would charge for it::

    each:  sum_j  up_price[j] max(0, X[j] - q[j]) + down_price[j] min(0, X[j] - q[j])
    any:   sum_g  up_price[g] max(0, max_{j in g} X - q) + down_price[g] min(0, min_{j in g} X - q)

so the builtin, FlexMeasures and server backends are compared on the same terms, and
the builtin's total equals its solver objective.
"""

from __future__ import annotations

import numpy as np

from agents.scheduling.device_scheduler import (
    any_groups,
    loss_coefficients,
    nan_to_zero,
    step_array,
)
from agents.scheduling.storage_problem import Problem

TOL_KWH = 1e-6


def all_power(problem: Problem, power_kw: np.ndarray) -> np.ndarray:
    """Flexible power stacked over the inflexible devices' fixed flows."""
    n = problem.n
    fixed = [nan_to_zero(step_array(d.derivative_equals, n)) for d in
             problem.devices[problem.n_flexible:]]
    return np.vstack([np.asarray(power_kw, dtype=float).reshape(problem.n_flexible, n)]
                     + [f[None, :] for f in fixed])


def simulate_stock(problem: Problem, power_kw: np.ndarray) -> np.ndarray:
    """Stock (kW x step, absolute) at the end of each step for every flexible device."""
    n = problem.n
    devices = problem.devices[:problem.n_flexible]
    if not devices:
        return np.zeros((0, n))
    power_kw = np.asarray(power_kw, dtype=float).reshape(len(devices), n)
    a, b, change = np.zeros((len(devices), n)), np.zeros((len(devices), n)), np.zeros(
        (len(devices), n))
    for i, d in enumerate(devices):
        a[i], b[i] = loss_coefficients(step_array(d.storage_efficiency, n, 1.0))
        up, down = np.clip(power_kw[i], 0, None), np.clip(power_kw[i], None, 0)
        change[i] = up * step_array(d.up_efficiency, n, 1.0) \
            + down / step_array(d.down_efficiency, n, 1.0) \
            + nan_to_zero(step_array(d.stock_delta, n, 0.0))
    out = np.zeros((len(devices), n))
    s = np.array([d.initial_stock for d in devices], dtype=float)
    for j in range(n):  # all devices at once, step by step
        s = a[:, j] * s + b[:, j] * change[:, j]
        out[:, j] = s
    return out


def commitment_costs(problem: Problem, power_kw: np.ndarray,
                     stock: np.ndarray | None = None) -> list[float]:
    """Cost of every commitment of ``problem`` for this schedule. [EUR]"""
    n = problem.n
    flows = all_power(problem, power_kw)
    stock = simulate_stock(problem, power_kw) if stock is None else stock
    costs = []
    for named in problem.commitments:
        c = named.commitment
        scope = list(range(len(problem.devices))) if c.devices is None else c.devices
        if c.kind == "flow":
            x = flows[scope].sum(axis=0)
        else:
            x = sum(stock[i] - problem.devices[i].initial_stock for i in scope)
        q = step_array(c.quantity, n)
        up = None if c.up_price is None else nan_to_zero(step_array(c.up_price, n))
        dn = None if c.down_price is None else nan_to_zero(step_array(c.down_price, n))
        dev = x - q
        active = ~np.isnan(q)
        total = 0.0
        if c.each:
            if up is not None:
                total += float(np.sum(up[active] * np.clip(dev[active], 0, None)))
            if dn is not None:
                total += float(np.sum(dn[active] * np.clip(dev[active], None, 0)))
        else:
            group = any_groups(q, up, dn)
            for g in np.unique(group[active]):
                members = active & (group == g)
                first = int(np.flatnonzero(members)[0])
                if up is not None:
                    total += up[first] * max(0.0, float(dev[members].max()))
                if dn is not None:
                    total += dn[first] * min(0.0, float(dev[members].min()))
        costs.append(total)
    return costs


def cost_summary(problem: Problem, power_kw: np.ndarray,
                 stock: np.ndarray | None = None) -> dict[str, float]:
    """Costs by kind: energy, breach, peak, preference, and their total. [EUR]
    ``stock``: :func:`simulate_stock` of ``power_kw``, if it is at hand."""
    costs = commitment_costs(problem, power_kw, stock)
    out = {"energy_eur": 0.0, "breach_eur": 0.0, "peak_eur": 0.0, "preference_eur": 0.0}
    for named, cost in zip(problem.commitments, costs, strict=True):
        out[f"{named.kind}_eur"] += cost
    out = {key: float(value) for key, value in out.items()}
    out["total_eur"] = float(sum(costs))
    return out


def find_breaches(problem: Problem, power_kw: np.ndarray,
                  soc_kwh: np.ndarray) -> list[dict]:
    """Every step at which a SoC limit, target or site capacity is not met."""
    req = problem.request
    ticks = req.index + req.resolution  # SoC values hold at the end of each step
    signs = {"soc-minima": -1, "soc-maxima": 1, "soc-targets": 0}
    out = []
    for d, limits in problem.soc_limits.items():
        soc = soc_kwh[d]
        for name, limit in limits.items():
            diff, sign = soc - limit, signs[name]
            bad = ~np.isnan(limit) & ((diff * sign > TOL_KWH) if sign else
                                      (np.abs(diff) > TOL_KWH))
            for j in np.flatnonzero(bad):
                out.append({"device": req.devices[d].name, "constraint": name,
                            "time": ticks[j].isoformat(), "limit_kwh": float(limit[j]),
                            "value_kwh": float(soc[j]), "breach_kwh": float(diff[j])})
    net = all_power(problem, power_kw).sum(axis=0)
    for name, cap in problem.site_limits_kw.items():
        sign = 1 if name == "site-consumption-capacity" else -1
        excess = sign * net - cap
        for j in np.flatnonzero(~np.isnan(cap) & (excess > TOL_KWH)):
            out.append({"device": "site", "constraint": name,
                        "time": req.index[j].isoformat(), "limit_kw": float(cap[j]),
                        "value_kw": float(sign * net[j]), "breach_kw": float(excess[j])})
    return out
