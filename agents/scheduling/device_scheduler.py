"""Built-in device scheduler: FlexMeasures' ``device_scheduler`` model, solved with HiGHS.

This mirrors the optimisation of FlexMeasures 1.0.1 (``linear_optimization.py``) for
storage-like devices behind one site connection, in its own abstract units: flows in a
power unit (positive = consumption), stocks in power x step (flows are added to the
stock without multiplying by the step length), prices per power unit per step.

Model, for devices d and steps j (all bounds optional; NaN = none)::

    P[d,j] = up[d,j] + down[d,j],          up >= 0, down <= 0
    dmin[d,j] <= P[d,j] <= dmax[d,j];      down >= min(dmin, 0);  up <= max(dmax, 0)
    up <= M s[d,j],  -down <= M (1 - s[d,j]),  s binary   (only where dmin < 0 < dmax;
                                                           M = max |d bounds|, >= 1)
    S[d,j] = a[d,j] S[d,j-1] + b[d,j] (down/eta_down + up*eta_up + delta)[d,j],
             S[d,-1] = S0[d],  b = (a - 1) / ln(a)  (b = 1 for a = 1)
    min[d,j] <= S[d,j] - S0[d] <= max[d,j]     (``equals`` clamps both)
    X[j] = sum_d P[d,j],  ems_min[j] <= X[j] <= ems_max[j]   (X: the site's net flow, one
                                          variable per step that site-wide commitments use)

Commitments price deviations of a flow (sum of the scoped devices' P) or of a stock
change (S - S0) from a quantity q. An "each" commitment has one deviation pair per
step, an "any" commitment one pair per group g of consecutive steps with the same
quantity and prices (one group when all are constant), pricing the group's largest
deviation::

    each:  q[j] + dn[j] + up_dev[j] - X[j]  >= 0 if an upwards price is given,
                                            <= 0 if a downwards price is given
    any:   up_dev[g] >= X[j] - q[j],  dn[g] <= X[j] - q[j]   for all j in g
    minimise  sum (up_price * up_dev + down_price * dn),   up_dev >= 0 >= dn

Where an "each" commitment's upwards price is below its downwards price the split of
a deviation is made exclusive with a binary, as FlexMeasures does.

Solving: the linear relaxation is solved first; binaries are then added only where a
solution charges and discharges at once (or splits a non-convex deviation), and the
problem is solved again, until no split remains. Every solve is a relaxation of the
full mixed-integer problem, so the final one, being feasible for it, is optimal for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from agents.scheduling.lp import INF, LinearProgram
from agents.scheduling.warm_start import FIXED_STEP, NO_LABEL, WarmStart, label

TOL = 1e-9
COST_SCALE = 1000.0


@dataclass
class Device:
    """One device's constraints over the window (arrays of the window's length)."""

    derivative_min: np.ndarray
    derivative_max: np.ndarray
    stock_min: np.ndarray | None = None  # bounds on S - S0 at the end of each step
    stock_max: np.ndarray | None = None
    stock_equals: np.ndarray | None = None
    derivative_equals: np.ndarray | None = None
    up_efficiency: np.ndarray | float = 1.0
    down_efficiency: np.ndarray | float = 1.0
    storage_efficiency: np.ndarray | float = 1.0  # per step, a in the model
    stock_delta: np.ndarray | float = 0.0
    initial_stock: float = 0.0


@dataclass
class Commitment:
    """Prices for deviating from ``quantity`` (NaN quantity: no commitment that step)."""

    quantity: np.ndarray | float
    up_price: np.ndarray | float | None = None
    down_price: np.ndarray | float | None = None
    kind: str = "flow"  # "flow" (sum of P) or "stock" (S - S0)
    devices: list[int] | None = None  # None: every device
    each: bool = True  # False: one deviation for the whole window ("any")


@dataclass
class Schedule:
    power: np.ndarray  # (devices, steps), positive = consumption
    stock: np.ndarray  # (devices, steps), end of each step
    cost: float
    commitment_costs: list[float] = field(default_factory=list)
    mip: bool = False


def step_array(value, n: int, fill: float = np.nan) -> np.ndarray:
    """``value`` (None, a scalar or an array) as a writable array of ``n`` steps; None
    gives ``fill``. Units are the value's."""
    if value is None:
        return np.full(n, fill)
    if isinstance(value, np.ndarray) and value.shape == (n,):
        return value.astype(float)  # a copy
    if np.ndim(value) == 0:
        return np.full(n, float(value))
    return np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy()


def nan_to_zero(x: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(x)`` (NaN -> 0, +-inf -> the largest finite floats), without its
    cost where every value is finite already (then ``x`` itself)."""
    return x if np.isfinite(x).all() else np.nan_to_num(x)


def loss_coefficients(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Storage losses per step: ``S' = a S + b change`` with ``b = (a - 1) / ln a``.

    Only an efficiency of exactly 1 is lossless (99.9997 % per step is a real loss)."""
    a = np.asarray(a, dtype=float)
    lossy = a != 1.0
    b = np.ones_like(a)
    b[lossy] = (a[lossy] - 1.0) / np.log(a[lossy])
    return a, b


def _bounds(lo: np.ndarray, hi: np.ndarray, eq: np.ndarray, cross: bool):
    """FlexMeasures' clamping of min/max/equals (NaN = none) into finite-or-inf bounds."""
    if cross:  # equals is first clamped into [min, max] (fmin/fmax skip NaN)
        eq_hi = np.where(np.isnan(eq), np.nan, np.fmax(eq, lo))
        eq_lo = np.where(np.isnan(eq), np.nan, np.fmin(eq, hi))
        upper = np.where(np.isnan(hi) & np.isnan(eq), INF, np.fmin(hi, eq_hi))
        lower = np.where(np.isnan(lo) & np.isnan(eq), -INF, np.fmax(lo, eq_lo))
    else:
        upper = np.where(np.isnan(hi) & np.isnan(eq), INF, np.fmin(hi, eq))
        lower = np.where(np.isnan(lo) & np.isnan(eq), -INF, np.fmax(lo, eq))
    return lower, upper


def _device_bounds(d: Device, n: int) -> tuple[np.ndarray, np.ndarray]:
    return _bounds(step_array(d.derivative_min, n), step_array(d.derivative_max, n),
                   step_array(d.derivative_equals, n), cross=False)


@dataclass
class Labels:
    """Labels of the program's variables and rows for a warm start (:mod:`warm_start`):
    each family (a kind of variable or row, and the device it belongs to, by ``keys``)
    and absolute time step (the window starts at step ``t0``). Without a warm start,
    every element is ``NO_LABEL``."""

    warm: WarmStart | None = None
    keys: list | None = None  # one hashable key per device (default: its index)
    t0: int = 0  # the window's first step, counted from any fixed origin
    _seen: dict = field(default_factory=dict)

    def of(self, name: str, owner, steps) -> np.ndarray | int:
        """Labels of family ``(name, owner)`` at the window's ``steps`` (int arrays); a
        negative step is one fixed label, whatever the window."""
        if self.warm is None:
            return NO_LABEL
        steps = np.asarray(steps)
        return label(self.warm.family((name, owner)),
                     np.where(steps < 0, FIXED_STEP, self.t0 + steps))

    def of_devices(self, name: str, owners: list, n: int) -> np.ndarray | int:
        """Labels of the families ``(name, owner)`` for each owner at the window's steps
        ``0..n-1``, shape ``(owners, n)``."""
        if self.warm is None:
            return NO_LABEL
        families = np.array([self.warm.family((name, o)) for o in owners], dtype=np.int64)
        return label(families[:, None], self.t0 + np.arange(n, dtype=np.int64)[None, :])

    def device(self, i: int):
        return i if self.keys is None else self.keys[i]

    def commitment(self, c: Commitment):
        """A key for commitment ``c``: what it prices and on which devices, and its
        place among commitments of the same kind."""
        scope = None if c.devices is None else tuple(self.device(i) for i in c.devices)
        key = (c.kind, c.each, scope, c.up_price is None, c.down_price is None)
        count = self._seen[key] = self._seen.get(key, -1) + 1
        return key + (count,)


def schedule_devices(devices: list[Device], n_steps: int,
                     ems_min: np.ndarray | None = None, ems_max: np.ndarray | None = None,
                     commitments: list[Commitment] | None = None,
                     force_mip: bool = False, labels: Labels | None = None) -> Schedule:
    """Optimal device flows for the model in the module docstring.

    With ``labels`` holding a :class:`~agents.scheduling.warm_start.WarmStart`, the
    linear programs are solved by its kept HiGHS instance from the last basis.
    """
    n_dev, n = len(devices), n_steps
    lab = Labels() if labels is None else labels
    if lab.warm is not None:
        lab.warm.window_start = lab.t0  # how far the window moved since the kept basis
    steps = np.arange(n)
    lp = LinearProgram()
    # FlexMeasures works in MW and EUR/MWh, so its cost coefficients are 1000x ours (kW,
    # EUR/kWh) for the same EUR: scaled alike, tiny tie-breaking prices (prefer-charging-
    # sooner) stay above the solver's tolerances as they do in FlexMeasures
    lp.cost_scale = COST_SCALE
    bounds = [_device_bounds(d, n) for d in devices]
    dmin = np.array([b[0] for b in bounds]).reshape(n_dev, n)
    dmax = np.array([b[1] for b in bounds]).reshape(n_dev, n)
    per_device = [lab.device(i) for i in range(n_dev)]

    def device_labels(name):
        return lab.of_devices(name, per_device, n)

    # dmin <= up + down <= dmax as bounds: up in [max(dmin, 0), max(dmax, 0)], down in
    # [min(dmin, 0), min(dmax, 0)] (the same set: one of them is 0 unless dmin < 0 < dmax)
    up = lp.add_vars((n_dev, n), np.clip(dmin, 0.0, None), np.maximum(dmax, 0.0),
                     labels=device_labels("up"))
    down = lp.add_vars((n_dev, n), np.minimum(dmin, 0.0), np.clip(dmax, None, 0.0),
                       labels=device_labels("down"))
    # no simultaneous charging and discharging, where a device can go both ways
    finite = np.abs(np.concatenate([dmin.ravel(), dmax.ravel()]))
    big_m = max(1.0, float(finite[np.isfinite(finite)].max(initial=0.0)))
    two_way = (dmin < 0) & (dmax > 0)
    exclusive = [(up[two_way], down[two_way], big_m)]
    stock_bounds = [_stock_bounds(d, n) for d in devices]
    stock_hi = np.array([b[1] for b in stock_bounds]).reshape(n_dev, n)
    stock = lp.add_vars((n_dev, n), np.array([b[0] for b in stock_bounds]).reshape(n_dev, n),
                        stock_hi, labels=device_labels("stock"))
    _add_stocks(lp, devices, n, up, down, stock, device_labels("stock row"))
    lo = np.nan_to_num(step_array(ems_min, n), nan=-INF)
    hi = np.nan_to_num(step_array(ems_max, n), nan=INF)
    net = lp.add_vars((n,), lo, hi, labels=lab.of("net", None, steps))
    lp.add_rows([(net, 1.0)] + [(up[i], -1.0) for i in range(n_dev)]
                + [(down[i], -1.0) for i in range(n_dev)], 0.0, 0.0,
                labels=lab.of("ems", None, steps))
    priced = []
    for c in commitments or []:
        key = lab.commitment(c) if lab.warm is not None else None
        labels_of = lambda name, j, key=key: lab.of(name, key, j)  # noqa: E731
        shortfall = _linear_shortfall(lp, c, stock, stock_hi, devices, n)
        cost_pairs, pair = (shortfall, None) if shortfall is not None else _add_commitment(
            lp, c, (up, down, net), stock, devices, n, labels_of)
        priced.append(cost_pairs)
        if pair is not None:
            exclusive.append(pair)
    sol = _solve_with_lazy_binaries(lp, exclusive, force_mip, lab.warm)
    x = sol.x
    costs = [float(sum(p if v is None else x[v] @ p for v, p in pairs)) for pairs in priced]
    return Schedule(x[up] + x[down], x[stock], float(sol.objective), costs, sol.mip)


def _solve_with_lazy_binaries(lp: LinearProgram, exclusive, force_mip: bool,
                              warm: WarmStart | None = None):
    """Solve, adding the no-split binaries only where a solution splits a flow.

    Each solve is a relaxation of the full mixed-integer problem (binaries on a subset
    of the pairs). Once no remaining pair is split, the solution is feasible for the
    full problem and therefore optimal for it. ``force_mip`` binds every pair at once.
    """
    bound = [np.zeros(u.shape, dtype=bool) for u, _, _ in exclusive]
    if force_mip:
        for k, (u, dn, m) in enumerate(exclusive):
            _bind(lp, u, dn, m)
            bound[k][:] = True
    while True:
        sol = lp.solve(warm=warm)
        new = False
        for k, (u, dn, m) in enumerate(exclusive):
            split = (sol.x[u] > TOL) & (sol.x[dn] < -TOL) & ~bound[k]
            if split.any():
                _bind(lp, u[split], dn[split], m)
                bound[k] |= split
                new = True
        if not new:
            return sol


def _bind(lp: LinearProgram, u: np.ndarray, dn: np.ndarray, big_m: float) -> None:
    """``u <= M s`` and ``-dn <= M (1 - s)`` with s binary: u and dn not both non-zero."""
    s = lp.add_vars(u.shape, 0.0, 1.0, integer=True)
    lp.add_rows([(u, 1.0), (s, -big_m)], -np.inf, 0.0)
    lp.add_rows([(dn, -1.0), (s, big_m)], -np.inf, big_m)


def _stock_bounds(d: Device, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the absolute stock ``S0 + min <= S <= S0 + max`` (``equals`` clamps both;
    +-inf where none)."""
    lo, hi = _bounds(step_array(d.stock_min, n), step_array(d.stock_max, n),
                     step_array(d.stock_equals, n), cross=True)
    return lo + d.initial_stock, hi + d.initial_stock


def _add_stocks(lp: LinearProgram, devices: list[Device], n: int, up, down, stock,
                labels) -> None:
    """S[d,j] = a S[d,j-1] + b (down/eta_down + up eta_up + delta), S[d,-1] = S0[d]: one
    row per device and step, all devices at once; the stock's bounds are its variables'
    own (:func:`_stock_bounds`)."""
    n_dev = len(devices)
    a, b = np.ones((n_dev, n)), np.ones((n_dev, n))
    eta_up, eta_dn, delta = np.ones((n_dev, n)), np.ones((n_dev, n)), np.zeros((n_dev, n))
    for i, d in enumerate(devices):
        a[i], b[i] = loss_coefficients(step_array(d.storage_efficiency, n, 1.0))
        eta_up[i] = step_array(d.up_efficiency, n, 1.0)
        eta_dn[i] = step_array(d.down_efficiency, n, 1.0)
        delta[i] = nan_to_zero(step_array(d.stock_delta, n, 0.0))
    previous = np.concatenate([stock[:, :1], stock[:, :-1]], axis=1)
    keep = np.concatenate([np.zeros((n_dev, 1)), -a[:, 1:]], axis=1)  # none before step 0
    rhs = b * delta
    rhs[:, 0] = rhs[:, 0] + a[:, 0] * np.array([d.initial_stock for d in devices])
    lp.add_rows([(stock, 1.0), (previous, keep), (up, -b * eta_up), (down, -b / eta_dn)],
                rhs, rhs, labels=labels)


def _linear_shortfall(lp: LinearProgram, c: Commitment, stock, stock_hi, devices, n):
    """A stock commitment whose quantity the stock can never exceed, priced only below it
    (FlexMeasures' prefer-charging-sooner), as the linear cost it is.

    With ``X = S - S0 <= q`` on every step (the stock's upper bound) and an upwards price
    of 0, the optimal deviations are ``up = 0`` and ``down = X - q``: the cost
    ``sum_j down_price[j] (S[j] - S0 - q[j])`` goes on the stock variables and the
    constant into the objective's offset, without deviation variables or rows. Returns
    the cost as (variables, prices) pairs and ``(None, constant)``, or None where the
    commitment is not of this form.
    """
    if not (c.kind == "stock" and c.each and c.devices is not None and len(c.devices) == 1
            and c.up_price is not None and c.down_price is not None):
        return None
    q = step_array(c.quantity, n)
    active = ~np.isnan(q)
    up_price, dn_price = step_array(c.up_price, n), step_array(c.down_price, n)
    i = c.devices[0]
    s0 = devices[i].initial_stock
    if (up_price[active] != 0.0).any() or (dn_price[active] > 0.0).any() \
            or not (stock_hi[i][active] - s0 <= q[active]).all():
        return None
    cols, price = stock[i][active], dn_price[active]
    lp.add_cost(cols, price)
    constant = -float(price @ (q[active] + s0))
    lp.offset += constant
    return [(cols, price), (None, constant)]


def _add_commitment(lp: LinearProgram, c: Commitment, flows, stock, devices, n, labels):
    """Deviation variables and rows of one commitment (labelled by ``labels(name, steps)``);
    ``flows`` are the variables ``(up, down, net)``.

    Returns the (variables, prices) pairs that make its cost, and, for a non-convex
    "each" commitment (upwards price below downwards price somewhere), the pair of
    deviation arrays that must not both be non-zero.
    """
    scope = list(range(len(devices))) if c.devices is None else list(c.devices)
    q = step_array(c.quantity, n)
    active = ~np.isnan(q)
    m = int(active.sum())
    up_price = None if c.up_price is None else nan_to_zero(step_array(c.up_price, n))
    dn_price = None if c.down_price is None else nan_to_zero(step_array(c.down_price, n))
    up, down, net = flows
    if c.kind == "flow" and c.devices is None:  # the site's net flow
        x_terms = [(net[active], -1.0)]
        const = q[active]
    elif c.kind == "flow":
        x_terms = [(up[i][active], -1.0) for i in scope] + [(down[i][active], -1.0) for i in scope]
        const = q[active]
    else:  # X = S - S0: the initial stock moves to the constant
        x_terms = [(stock[i][active], -1.0) for i in scope]
        const = q[active] + sum(devices[i].initial_stock for i in scope)
    # rows: q + dn + u - X  >= 0 (upwards price given), <= 0 (downwards price given)
    if c.each:
        at = np.flatnonzero(active)
        pairs = []  # deviation variables only for a priced direction (else they are 0)
        if up_price is not None:
            u = lp.add_vars((m,), 0.0, INF, cost=up_price[active],
                            labels=labels("up deviation", at))
            pairs.append((u, up_price[active]))
        if dn_price is not None:
            dn = lp.add_vars((m,), -INF, 0.0, cost=dn_price[active],
                             labels=labels("down deviation", at))
            pairs.append((dn, dn_price[active]))
        lo = -const if up_price is not None else -INF
        hi = -const if dn_price is not None else INF
        lp.add_rows([(v, 1.0) for v, _ in pairs] + x_terms, lo, hi,
                    labels=labels("deviation", at))
        pair = None
        if up_price is not None and dn_price is not None:
            nonconvex = up_price[active] < dn_price[active]
            if nonconvex.any():
                pair = (u[nonconvex], dn[nonconvex], _flow_big_m(devices))
        return pairs, pair
    group = any_groups(q, up_price, dn_price)[active]
    groups, first = np.unique(group, return_index=True)
    rows_group = np.searchsorted(groups, group)
    at = np.flatnonzero(active)
    steps = at[first]
    # a group is labelled by its first step; the window's first group (it starts with the
    # window, whenever that is) by the step -1
    group_at = np.where(steps == at[0], -1, steps)
    pairs = []
    if up_price is not None:  # u[g] >= X - q for every step of group g: its largest excess
        u = lp.add_vars((len(groups),), 0.0, INF, cost=up_price[steps],
                        labels=labels("largest up deviation", group_at))
        lp.add_rows([(u[rows_group], 1.0)] + x_terms, -const, INF,
                    labels=labels("up deviation", at))
        pairs.append((u, up_price[steps]))
    if dn_price is not None:  # dn[g] <= X - q for every step of group g: its largest shortfall
        dn = lp.add_vars((len(groups),), -INF, 0.0, cost=dn_price[steps],
                         labels=labels("largest down deviation", group_at))
        lp.add_rows([(dn[rows_group], 1.0)] + x_terms, -INF, -const,
                    labels=labels("down deviation", at))
        pairs.append((dn, dn_price[steps]))
    return pairs, None


def any_groups(q: np.ndarray, up_price, dn_price) -> np.ndarray:
    """FlexMeasures' groups of an "any" commitment: runs of steps with the same quantity
    and prices (a NaN never equals its predecessor); one group if each of them has a
    single value apart from NaNs."""
    series = [q] + [p for p in (up_price, dn_price) if p is not None]
    n = len(q)
    if all(_one_value(s) for s in series):
        return np.zeros(n, dtype=int)
    change = np.zeros(n, dtype=bool)
    for s in series:
        change[1:] |= ~(s[1:] == s[:-1])
    return np.cumsum(change)


def _one_value(s: np.ndarray) -> bool:
    """Whether ``s`` has exactly one distinct value apart from NaNs."""
    known = s[~np.isnan(s)]
    return len(known) > 0 and known.min() == known.max()


def _flow_big_m(devices: list[Device]) -> float:
    total = 0.0
    for d in devices:
        for v in (d.derivative_min, d.derivative_max):
            arr = np.abs(np.asarray(v, dtype=float))
            total += float(arr[np.isfinite(arr)].max(initial=0.0))
    return max(total, 1.0)
