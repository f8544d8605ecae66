"""Martinique LV feeder: pandapower network and repeated AC power flow.

Sign convention: positive ``p_kw`` at a bus = consumption; ``p_import_kw`` > 0 means
the site draws from the 20 kV grid.

The network is built once with pandapower ``create_*`` calls. Every step then goes
through a prebuilt lightsim2grid model (Newton-Raphson in C++, warm-started from the
previous solution): pandapower's ``runpp`` rebuilds its internal model at each call.
``solve_pandapower`` runs the same case through ``runpp`` for checks and benchmarks.

lightsim2grid keeps load set-points in single precision (a relative error of ~6e-8,
some 1e-5 kW on this feeder), so each solution gets one Newton correction in double
precision against the exact injections (:func:`newton_refine`); bus voltages, import
and losses then satisfy the power-flow equations to within 1e-10 MVA per bus (1e-7 kW).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import scipy.sparse as sp
import scipy.sparse.linalg as spla

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from lightsim2grid.network import init_from_pandapower

SQRT3 = np.sqrt(3.0)
DENSE_MAX_BUSES = 300  # the refinement's linear algebra is dense up to this size


@dataclass(frozen=True)
class FeederParams:
    """Parameters of the ``lv_radial`` builder (see ``twin.scenario.schema.Grid``)."""

    mv_vn_kv: float = 20.0
    lv_vn_kv: float = 0.4
    ext_grid_vm_pu: float = 1.0
    trafo_sn_kva: float = 250.0
    trafo_vk_percent: float = 4.0
    trafo_vkr_percent: float = 1.2
    trafo_pfe_kw: float = 0.36  # EU Ecodesign Tier 2 order of magnitude for 250 kVA
    trafo_i0_percent: float = 0.3
    n_feeders: int = 3
    buses_per_feeder: int = 8
    line_length_m: float = 40.0
    line_std_type: str = "NAYY 4x150 SE"


def create_lv_radial(params: FeederParams) -> pp.pandapowerNet:
    """Radial LV network: 20 kV slack bus, MV/LV transformer, ``n_feeders`` cable feeders.

    Bus names: ``mv``, ``lv_busbar`` and ``f<feeder>_b<k>`` (k = 1 at the busbar end).
    Every LV bus carries one load element whose ``p_mw``/``q_mvar`` is the bus's net
    consumption; lines are named ``f<feeder>_l<k>`` (the cable feeding bus ``f_b<k>``).
    """
    net = pp.create_empty_network(name="martinique_lv_feeder", sn_mva=1.0)
    mv = pp.create_bus(net, vn_kv=params.mv_vn_kv, name="mv")
    pp.create_ext_grid(net, mv, vm_pu=params.ext_grid_vm_pu, name="edf_sei_20kv")
    lv = pp.create_bus(net, vn_kv=params.lv_vn_kv, name="lv_busbar")
    pp.create_transformer_from_parameters(
        net, mv, lv, sn_mva=params.trafo_sn_kva / 1000.0, vn_hv_kv=params.mv_vn_kv,
        vn_lv_kv=params.lv_vn_kv, vk_percent=params.trafo_vk_percent,
        vkr_percent=params.trafo_vkr_percent, pfe_kw=params.trafo_pfe_kw,
        i0_percent=params.trafo_i0_percent, shift_degree=150.0, vector_group="Dyn5",
        tap_side="hv", tap_neutral=0, tap_min=-2, tap_max=2, tap_pos=0, tap_step_percent=2.5,
        tap_step_degree=0.0, tap_changer_type="Ratio", name="mv_lv",
    )
    nf, nb = params.n_feeders, params.buses_per_feeder  # bulk creation: one call per table
    names = [f"f{f}_b{k}" for f in range(1, nf + 1) for k in range(1, nb + 1)]
    buses = np.asarray(pp.create_buses(net, len(names), vn_kv=params.lv_vn_kv, name=names))
    grid = buses.reshape(nf, nb)
    from_bus = np.column_stack([np.full(nf, lv), grid[:, :-1]]).ravel()
    pp.create_lines(net, from_bus, grid.ravel(), length_km=params.line_length_m / 1000.0,
                    std_type=params.line_std_type,
                    name=[f"f{f}_l{k}" for f in range(1, nf + 1) for k in range(1, nb + 1)])
    lv_buses = net.bus.index[net.bus.vn_kv == params.lv_vn_kv]
    pp.create_loads(net, lv_buses, p_mw=0.0, q_mvar=0.0,
                    name=list(net.bus.loc[lv_buses, "name"]))
    return net


def jacobian(ybus, v: np.ndarray, pq: np.ndarray):
    """Power-flow Jacobian on the PQ buses, polar form (MATPOWER's dS/dV).

    With ``I = Y V``: ``dS/dVm = diag(V) conj(Y diag(V/|V|)) + conj(diag(I)) diag(V/|V|)``,
    ``dS/dVa = j diag(V) conj(diag(I) - Y diag(V))``, and
    ``J = [Re dS/dVa, Re dS/dVm; Im dS/dVa, Im dS/dVm]`` restricted to ``pq``.
    Dense for a dense ``ybus``, sparse (CSC) for a sparse one.
    """
    i_bus = ybus @ v
    vn = v / np.abs(v)
    if sp.issparse(ybus):
        dv, dvn, di = sp.diags(v), sp.diags(vn), sp.diags(i_bus)
        ds_dvm = dv @ (ybus @ dvn).conj() + di.conj() @ dvn
        ds_dva = 1j * dv @ (di - ybus @ dv).conj()
        a, m = ds_dva.tocsr()[pq][:, pq], ds_dvm.tocsr()[pq][:, pq]
        return sp.bmat([[a.real, m.real], [a.imag, m.imag]], format="csc")
    ds_dvm = v[:, None] * np.conj(ybus * vn[None, :]) + np.diag(np.conj(i_bus) * vn)
    ds_dva = 1j * v[:, None] * np.conj(np.diag(i_bus) - ybus * v[None, :])
    a, m = ds_dva[np.ix_(pq, pq)], ds_dvm[np.ix_(pq, pq)]
    return np.block([[a.real, m.real], [a.imag, m.imag]])


def mismatch(ybus: np.ndarray, v: np.ndarray, s_spec: np.ndarray, pq: np.ndarray) -> np.ndarray:
    """``V conj(Y V) - S_spec`` on the PQ buses, as ``[Re; Im]``. [pu]"""
    mis = (v * np.conj(ybus @ v) - s_spec)[pq]
    return np.concatenate([mis.real, mis.imag])


def newton_step(v: np.ndarray, dx: np.ndarray, pq: np.ndarray) -> np.ndarray:
    """Apply a correction ``dx = [dVa; dVm]`` on the PQ buses. [pu]"""
    n = len(pq)
    va, vm = np.angle(v), np.abs(v)
    va[pq] += dx[:n]
    vm[pq] += dx[n:]
    return vm * np.exp(1j * va)


def newton_refine(ybus: np.ndarray, v: np.ndarray, s_spec: np.ndarray, pq: np.ndarray) -> np.ndarray:
    """One full Newton-Raphson correction: ``J dx = -F`` with the Jacobian at ``v``.

    Parameters
    ----------
    ybus : Dense bus admittance matrix. [pu]
    v : Complex bus voltages of a converged solution. [pu]
    s_spec : Specified complex injections (generation positive). [pu]
    pq : Indices of the PQ buses (all but the slack).
    """
    return newton_step(v, _linear_solver(jacobian(ybus, v, pq))(-mismatch(ybus, v, s_spec, pq)), pq)


def _linear_solver(jac):
    """``x -> J^-1 x``: an explicit inverse for small dense J, a sparse LU for large ones."""
    if sp.issparse(jac):
        return spla.splu(jac).solve
    inv = np.linalg.inv(jac)
    return inv.__matmul__


@dataclass
class FlowResult:
    """One power-flow solution; arrays follow ``Feeder.bus_names`` / ``line_names``."""

    converged: bool
    vm_pu: np.ndarray
    line_loading_percent: np.ndarray
    trafo_loading_percent: float
    p_import_kw: float
    q_import_kvar: float
    p_loss_kw: float  # sum of line and transformer losses, from the branch flows


class Feeder:
    """A built feeder and its prebuilt lightsim2grid model."""

    def __init__(self, net: pp.pandapowerNet, tol_pu: float = 1e-10, max_iter: int = 30):
        self.net = net
        self.tol_pu, self.max_iter = tol_pu, max_iter
        self.bus_names = list(net.bus.name)
        self.line_names = list(net.line.name)
        self.load_bus = net.load.bus.to_numpy()
        if len(set(self.load_bus)) != len(self.load_bus):
            raise ValueError("Feeder expects one load element per bus")
        self._bus_of_load = {net.bus.at[b, "name"]: i for i, b in enumerate(self.load_bus)}
        self._line_imax_ka = (net.line.max_i_ka * net.line.df * net.line.parallel).to_numpy()
        trafo = net.trafo.iloc[0]
        self._trafo_sn_mva = float(trafo.sn_mva)
        self._trafo_vn_kv = (float(trafo.vn_hv_kv), float(trafo.vn_lv_kv))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no slack generator: using the ext_grid"
            # lightsim2grid 1.2's "pandapower_v3" transformer converter is off by ~5e-5 pu
            # for low no-load losses (pfe 0.36 kW, i0 0.3 %); "pandapower_v2" matches
            # pandapower 3's runpp to ~1e-15 pu (tests/simulators/test_feeder_model.py)
            self._grid = init_from_pandapower(net, pp_orig_file="pandapower_v2")
        self._mask = np.ones(len(net.load), dtype=bool)
        # flat start: the LV side lags the MV side by the transformer's phase shift
        shift = np.where(net.bus.vn_kv.to_numpy() < trafo.vn_hv_kv, -trafo.shift_degree, 0.0)
        self._v_flat = np.exp(1j * np.deg2rad(shift)).astype(complex)
        self._v = self._v_flat.copy()
        self._ybus = None
        self._j_solve = None
        self._slack = int(net.ext_grid.bus.iloc[0])
        self._pq = np.flatnonzero(np.arange(len(net.bus)) != self._slack)

    def load_index(self, bus_name: str) -> int:
        """Position of the load element of a named LV bus."""
        return self._bus_of_load[bus_name]

    def solve(self, p_kw: np.ndarray, q_kvar: np.ndarray) -> FlowResult:
        """AC power flow for net consumption per load element [kW], [kvar]."""
        grid = self._grid
        grid.update_loads_p(self._mask, np.asarray(p_kw, dtype=float) / 1000.0)
        grid.update_loads_q(self._mask, np.asarray(q_kvar, dtype=float) / 1000.0)
        v = grid.ac_pf(self._v, self.max_iter, self.tol_pu)
        if len(v) == 0:  # retry from a flat start before giving up
            v = grid.ac_pf(self._v_flat.copy(), self.max_iter, self.tol_pu)
        if len(v) == 0:
            self._v = self._v_flat.copy()
            return self._failed()
        if self._ybus is None:
            ybus = grid.get_Ybus()
            self._ybus = ybus.toarray() if ybus.shape[0] <= DENSE_MAX_BUSES else ybus.tocsr()
        s_spec = np.zeros(len(v), dtype=complex)
        s_spec[self.load_bus] = -(np.asarray(p_kw) + 1j * np.asarray(q_kvar)) / 1000.0
        v = self._refine(v, s_spec / self.net.sn_mva)
        s_bus = v * np.conj(self._ybus @ v) * self.net.sn_mva * 1000.0  # injections [kW]
        self._v = v
        _, _, _, a1 = grid.get_line_res1()
        _, _, _, a2 = grid.get_line_res2()
        line_loading = np.maximum(a1, a2) / self._line_imax_ka * 100.0
        _, _, _, ta1 = grid.get_trafo_res1()
        _, _, _, ta2 = grid.get_trafo_res2()
        s_hv = ta1[0] * self._trafo_vn_kv[0] * SQRT3
        s_lv = ta2[0] * self._trafo_vn_kv[1] * SQRT3
        trafo_loading = max(s_hv, s_lv) / self._trafo_sn_mva * 100.0
        return FlowResult(
            True, np.abs(v), line_loading, float(trafo_loading),
            float(s_bus[self._slack].real), float(s_bus[self._slack].imag),
            float(s_bus.real.sum()),
        )

    def _refine(self, v: np.ndarray, s_spec: np.ndarray, tol_pu: float = 1e-10) -> np.ndarray:
        """Chord iterations (a cached, factorised Jacobian) until the mismatch < tol_pu.

        lightsim2grid's solution is off only by single-precision rounding of the
        injections, so a Jacobian from an earlier step corrects it in one or two
        iterations; it is rebuilt when that does not suffice.
        """
        for it in range(6):
            f = mismatch(self._ybus, v, s_spec, self._pq)
            if np.abs(f).max() < tol_pu:
                break
            if self._j_solve is None or it >= 2:
                self._j_solve = _linear_solver(jacobian(self._ybus, v, self._pq))
            v = newton_step(v, self._j_solve(-f), self._pq)
        return v

    def _failed(self) -> FlowResult:
        """The result of a power flow that did not converge: NaN everywhere."""
        nan = float("nan")
        return FlowResult(False, np.full(len(self.bus_names), nan),
                          np.full(len(self.line_names), nan), nan, nan, nan, nan)

    def solve_pandapower(self, p_kw: np.ndarray, q_kvar: np.ndarray) -> FlowResult:
        """The same case through pandapower ``runpp`` (reference and benchmark)."""
        net = self.net
        net.load["p_mw"] = np.asarray(p_kw, dtype=float) / 1000.0
        net.load["q_mvar"] = np.asarray(q_kvar, dtype=float) / 1000.0
        try:
            pp.runpp(net, tolerance_mva=1e-9, numba=False)
        except pp.LoadflowNotConverged:
            return self._failed()
        p_import_kw = float(net.res_ext_grid.p_mw.sum()) * 1000.0
        return FlowResult(
            True, net.res_bus.vm_pu.to_numpy().copy(),
            net.res_line.loading_percent.to_numpy().copy(),
            float(net.res_trafo.loading_percent.iloc[0]), p_import_kw,
            float(net.res_ext_grid.q_mvar.sum()) * 1000.0,
            float(net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()) * 1000.0,
        )


@dataclass(frozen=True)
class LossEstimate:
    """The feeder's losses as seen from the transformer, for a planner: at a net device
    consumption ``p`` [kW] the import is about ``p + fixed_kw + per_kw2 * p**2``.

    Fitted so that at ``p = device_capacity_kw`` the transformer is exactly at its
    loading limit (apparent power and reactive losses included)."""

    fixed_kw: float  # no-load losses [kW]
    per_kw2: float  # I^2 R coefficient [1/kW]
    device_capacity_kw: float  # net device consumption at the transformer's limit [kW]

    def device_limit_kw(self, import_limit_kw: float) -> float:
        """The net device consumption whose import with losses is ``import_limit_kw``."""
        room = float(import_limit_kw) - self.fixed_kw
        if room <= 0.0:
            return 0.0
        if self.per_kw2 <= 0.0:
            return room
        return (np.sqrt(1.0 + 4.0 * self.per_kw2 * room) - 1.0) / (2.0 * self.per_kw2)


def _trafo_loading(feeder: Feeder, p_kw: np.ndarray) -> float:
    r = feeder.solve(p_kw, np.zeros(len(p_kw)))
    return r.trafo_loading_percent if r.converged else np.inf


def worst_spread(feeder: Feeder, devices: list[tuple[int, float]], p_kw: float) -> np.ndarray:
    """``p_kw`` over the load elements as the most lossy plan would put it: the devices
    (load element, rating [kW]) at their ratings, those whose power costs the most
    losses first (one power flow each, 10 kW alone at its element). [kW per element]"""
    n = len(feeder.load_bus)

    def loss_alone(i: int) -> float:
        p = np.zeros(n)
        p[i] = 10.0
        return feeder.solve(p, np.zeros(n)).p_loss_kw

    cost = {i: loss_alone(i) for i in {i for i, _ in devices}}
    out, left = np.zeros(n), float(p_kw)
    for i, rating in sorted(devices, key=lambda d: -cost[d[0]]):
        take = min(rating, left)
        out[i] += take
        left -= take
    if left > 0:  # beyond the devices' ratings: the rest spread evenly
        out += left / n
    return out


def device_capacity_kw(feeder: Feeder, devices: list[tuple[int, float]],
                       loading_max_percent: float, tol_kw: float = 0.01) -> float:
    """The net device consumption at which the transformer reaches
    ``loading_max_percent`` with the devices in their most lossy spread
    (:func:`worst_spread`; bisection on the AC power flow). [kW]"""
    hi = feeder._trafo_sn_mva * 1000.0 * loading_max_percent / 100.0
    lo = 0.0
    while hi - lo > tol_kw:
        mid = 0.5 * (lo + hi)
        ok = _trafo_loading(feeder, worst_spread(feeder, devices, mid)) <= loading_max_percent
        lo, hi = (mid, hi) if ok else (lo, mid)
    return lo


def loss_estimate(feeder: Feeder, devices: list[tuple[int, float]],
                  loading_max_percent: float = 100.0) -> LossEstimate:
    """A planner's loss estimate from power flows of the feeder: the no-load losses, and
    the I^2 R coefficient fitted at the transformer's limit with the flexible devices
    (load element, rating [kW]) in their most lossy spread.

    Equation: ``device_capacity + fixed + per_kw2 * device_capacity**2 = rating x limit``."""
    n = len(feeder.load_bus)
    fixed = feeder.solve(np.zeros(n), np.zeros(n)).p_loss_kw
    cap = device_capacity_kw(feeder, devices, loading_max_percent)
    limit_kw = feeder._trafo_sn_mva * 1000.0 * loading_max_percent / 100.0
    per_kw2 = max(0.0, (limit_kw - cap - fixed) / cap ** 2) if cap > 0 else 0.0
    return LossEstimate(fixed, per_kw2, cap)
