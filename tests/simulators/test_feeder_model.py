"""The LV feeder model: network builder, lightsim2grid power flow against pandapower."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.feeder.model import (
    DENSE_MAX_BUSES,
    Feeder,
    FeederParams,
    create_lv_radial,
    newton_refine,
)

N_LOADS = 25  # lv_busbar + 3 feeders x 8 buses


def _cases(seed: int = 7) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        ("no load", np.zeros(N_LOADS), np.zeros(N_LOADS)),
        ("evening load", rng.uniform(0.0, 8.0, N_LOADS), rng.uniform(0.0, 2.0, N_LOADS)),
        ("mixed", rng.uniform(-10.0, 10.0, N_LOADS), rng.uniform(-2.0, 2.0, N_LOADS)),
        ("heavy pv export", rng.uniform(-16.0, -12.0, N_LOADS), np.zeros(N_LOADS)),
        ("capacitive", rng.uniform(2.0, 6.0, N_LOADS), rng.uniform(-3.0, -1.0, N_LOADS)),
    ]


def _assert_agree(fast, ref) -> None:
    assert fast.converged and ref.converged
    np.testing.assert_allclose(fast.vm_pu, ref.vm_pu, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fast.line_loading_percent, ref.line_loading_percent, rtol=0, atol=1e-4)
    assert fast.trafo_loading_percent == pytest.approx(ref.trafo_loading_percent, abs=1e-4)
    assert fast.p_import_kw == pytest.approx(ref.p_import_kw, abs=1e-5)
    assert fast.q_import_kvar == pytest.approx(ref.q_import_kvar, abs=1e-5)
    assert fast.p_loss_kw == pytest.approx(ref.p_loss_kw, abs=1e-5)


# ----------------------------------------------------------------------------- create_lv_radial


def test_create_lv_radial_default_names():
    net = create_lv_radial(FeederParams())
    assert len(net.bus) == 2 + 3 * 8
    assert list(net.bus.name[:4]) == ["mv", "lv_busbar", "f1_b1", "f1_b2"]
    assert list(net.bus.name[-1:]) == ["f3_b8"]
    assert list(net.load.name) == list(net.bus.name[1:])
    assert (net.load.bus.to_numpy() == net.bus.index[1:].to_numpy()).all()
    assert list(net.line.name[:2]) == ["f1_l1", "f1_l2"] and len(net.line) == 24
    assert len(net.trafo) == 1 and len(net.ext_grid) == 1
    assert net.bus.vn_kv.iloc[0] == 20.0 and (net.bus.vn_kv.iloc[1:] == 0.4).all()


@pytest.mark.parametrize(("n_feeders", "buses_per_feeder"), [(1, 1), (2, 5), (4, 3)])
def test_create_lv_radial_sizes(n_feeders, buses_per_feeder):
    net = create_lv_radial(FeederParams(n_feeders=n_feeders, buses_per_feeder=buses_per_feeder))
    n_lv = n_feeders * buses_per_feeder
    assert len(net.bus) == 2 + n_lv
    assert len(net.load) == 1 + n_lv
    assert len(net.line) == n_lv
    assert net.bus.name.iloc[-1] == f"f{n_feeders}_b{buses_per_feeder}"
    # a radial chain: each feeder's first line leaves the busbar, the others follow
    busbar = net.bus.index[net.bus.name == "lv_busbar"][0]
    assert (net.line.from_bus == busbar).sum() == n_feeders


def test_feeder_load_index(feeder):
    assert feeder.load_index("lv_busbar") == 0
    assert feeder.load_index("f1_b1") == 1
    assert feeder.load_index("f3_b8") == 24
    assert feeder.bus_names[feeder.load_bus[feeder.load_index("f2_b4")]] == "f2_b4"


# ----------------------------------------------------------------------------- solve


def test_solve_no_load_no_flow(feeder):
    res = feeder.solve(np.zeros(N_LOADS), np.zeros(N_LOADS))
    assert res.converged
    # only the transformer's iron losses are drawn
    assert res.p_import_kw == pytest.approx(0.36, abs=2e-3)
    assert res.p_loss_kw == pytest.approx(res.p_import_kw, abs=1e-9)
    # what flows is the cables' charging current, largest at the busbar end
    np.testing.assert_array_less(res.line_loading_percent, 0.01)
    assert res.vm_pu[1:].max() == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("params", [
    FeederParams(),  # low no-load losses: lightsim2grid's "pandapower_v3" converter was off here
    FeederParams(trafo_i0_percent=0.0),
    FeederParams(trafo_sn_kva=630, trafo_vk_percent=6.0, trafo_vkr_percent=1.2,
                 trafo_pfe_kw=1.65, trafo_i0_percent=0.26),
], ids=["default", "no-magnetising", "630kVA"])
def test_solve_matches_pandapower(params):
    feeder = Feeder(create_lv_radial(params))
    for name, p, q in _cases():
        fast, ref = feeder.solve(p, q), feeder.solve_pandapower(p, q)
        try:
            _assert_agree(fast, ref)
        except AssertionError as exc:
            raise AssertionError(f"case {name!r}: {exc}") from None


def test_solve_heavy_export_reverses_flow(feeder):
    p = np.full(N_LOADS, -14.0)
    res = feeder.solve(p, np.zeros(N_LOADS))
    assert res.converged
    assert res.p_import_kw < -330.0  # 350 kW exported minus losses
    assert res.vm_pu[1:].min() > 1.0
    assert res.trafo_loading_percent > 100.0


def test_solve_energy_balance_random_cases(feeder):
    rng = np.random.default_rng(2024)
    worst = 0.0
    for _ in range(200):
        p = rng.uniform(-15.0, 15.0, N_LOADS)
        q = rng.uniform(-3.0, 3.0, N_LOADS)
        res = feeder.solve(p, q)
        assert res.converged
        assert res.p_loss_kw > 0.0
        worst = max(worst, abs(res.p_import_kw - p.sum() - res.p_loss_kw))
    # the refinement stops at a mismatch of 1e-10 MVA (1e-7 kW) per bus, 25 load buses
    assert worst < 25 * 1e-7


def test_solve_voltage_drops_along_loaded_feeder(feeder):
    p = np.zeros(N_LOADS)
    f1 = [feeder.load_index(f"f1_b{k}") for k in range(1, 9)]
    p[f1] = 10.0
    res = feeder.solve(p, np.zeros(N_LOADS))
    names = feeder.bus_names
    vm = [res.vm_pu[names.index(n)] for n in ["lv_busbar"] + [f"f1_b{k}" for k in range(1, 9)]]
    assert np.all(np.diff(vm) < 0.0)
    assert vm[0] < 1.0
    # the unloaded feeders stay at the busbar voltage (up to the cable charging current)
    f2_end = res.vm_pu[names.index("f2_b8")]
    assert f2_end == pytest.approx(vm[0], abs=1e-5)
    # the line loading falls from the busbar towards the end of the feeder
    lines = [feeder.line_names.index(f"f1_l{k}") for k in range(1, 9)]
    assert np.all(np.diff(res.line_loading_percent[lines]) < 0.0)


def test_solve_voltage_rises_along_exporting_feeder(feeder):
    p = np.zeros(N_LOADS)
    f3 = [feeder.load_index(f"f3_b{k}") for k in range(1, 9)]
    p[f3] = -10.0
    res = feeder.solve(p, np.zeros(N_LOADS))
    names = feeder.bus_names
    vm = [res.vm_pu[names.index(n)] for n in ["lv_busbar"] + [f"f3_b{k}" for k in range(1, 9)]]
    assert np.all(np.diff(vm) > 0.0)
    assert vm[0] > 1.0


def test_solve_hopeless_case_then_recovers():
    feeder = Feeder(create_lv_radial(FeederParams()))
    fresh = Feeder(create_lv_radial(FeederParams()))
    res = feeder.solve(np.full(N_LOADS, 5000.0), np.zeros(N_LOADS))
    assert res.converged is False
    assert np.isnan(res.vm_pu).all() and len(res.vm_pu) == 26
    assert np.isnan(res.line_loading_percent).all() and len(res.line_loading_percent) == 24
    assert np.isnan([res.p_import_kw, res.q_import_kvar, res.p_loss_kw,
                     res.trafo_loading_percent]).all()
    p = np.full(N_LOADS, 4.0)
    q = np.full(N_LOADS, 1.0)
    after, expected = feeder.solve(p, q), fresh.solve(p, q)
    assert after.converged
    np.testing.assert_allclose(after.vm_pu, expected.vm_pu, rtol=0, atol=1e-12)
    assert after.p_import_kw == pytest.approx(expected.p_import_kw, abs=1e-9)


def test_solve_pandapower_hopeless_case(feeder):
    res = feeder.solve_pandapower(np.full(N_LOADS, 5000.0), np.zeros(N_LOADS))
    assert res.converged is False
    assert np.isnan(res.vm_pu).all() and np.isnan(res.p_import_kw)


def test_solve_warm_start_gives_same_answer():
    a = Feeder(create_lv_radial(FeederParams()))
    b = Feeder(create_lv_radial(FeederParams()))
    rng = np.random.default_rng(5)
    p, q = rng.uniform(-10.0, 10.0, N_LOADS), rng.uniform(-1.0, 1.0, N_LOADS)
    a.solve(rng.uniform(0.0, 10.0, N_LOADS), np.zeros(N_LOADS))  # a is warm-started
    # both stop within the refinement's mismatch tolerance (1e-10 MVA per bus)
    np.testing.assert_allclose(a.solve(p, q).vm_pu, b.solve(p, q).vm_pu, rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- newton_refine


def _mismatch(ybus, v, s_spec, pq) -> float:
    return float(np.abs((v * np.conj(ybus @ v) - s_spec)[pq]).max())


def test_newton_refine_reduces_mismatch(feeder):
    feeder.solve(np.zeros(N_LOADS), np.zeros(N_LOADS))  # builds the admittance matrix
    ybus = feeder._grid.get_Ybus().toarray()
    pq = np.flatnonzero(np.arange(len(feeder.bus_names)) != 0)
    p_kw = np.random.default_rng(3).uniform(0.0, 8.0, N_LOADS)
    s_spec = np.zeros(len(feeder.bus_names), dtype=complex)
    s_spec[feeder.load_bus] = -(p_kw + 0.3j * p_kw) / 1000.0  # [pu] on 1 MVA
    v = feeder._v_flat.copy()
    errors = [_mismatch(ybus, v, s_spec, pq)]
    for _ in range(4):
        v = newton_refine(ybus, v, s_spec, pq)
        errors.append(_mismatch(ybus, v, s_spec, pq))
    assert errors[0] > 1e-3
    assert all(b < a for a, b in zip(errors[:3], errors[1:4], strict=True))
    assert errors[-1] < 1e-12
    assert np.abs(v[0]) == 1.0  # the slack is untouched
    # near the solution one correction squares the error (quadratic convergence)
    v_off = v * (1.0 + 1e-4 * np.exp(1j * np.linspace(0.0, 3.0, len(v))))
    v_off[0] = v[0]
    before = _mismatch(ybus, v_off, s_spec, pq)
    after = _mismatch(ybus, newton_refine(ybus, v_off, s_spec, pq), s_spec, pq)
    assert before > 1e-4
    assert after < before * 1e-3


def test_solve_large_feeder_sparse_refinement_matches_pandapower():
    params = FeederParams(n_feeders=4, buses_per_feeder=90, line_length_m=10.0)
    big = Feeder(create_lv_radial(params))
    assert len(big.bus_names) > DENSE_MAX_BUSES  # the refinement goes sparse
    rng = np.random.default_rng(11)
    n = len(big.load_bus)
    p, q = rng.uniform(-1.0, 2.0, n), rng.uniform(0.0, 0.5, n)
    fast, ref = big.solve(p, q), big.solve_pandapower(p, q)
    assert fast.converged and ref.converged
    np.testing.assert_allclose(fast.vm_pu, ref.vm_pu, rtol=0, atol=1e-6)
    assert abs(fast.p_import_kw - p.sum() - fast.p_loss_kw) < n * 1e-7
