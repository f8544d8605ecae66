"""The built-in device scheduler (agents.scheduling.device_scheduler)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.scheduling.device_scheduler import (
    Commitment,
    Device,
    loss_coefficients,
    schedule_devices,
)
from agents.scheduling.lp import SolveError


def battery(n, p=1.0, s0=1.0, cap=2.0, rt=1.0, a=1.0):
    return Device(derivative_min=np.full(n, -p), derivative_max=np.full(n, p),
                  stock_min=np.full(n, -s0), stock_max=np.full(n, cap - s0),
                  up_efficiency=rt ** 0.5, down_efficiency=rt ** 0.5, storage_efficiency=a,
                  initial_stock=s0)


def net_energy(price, production=None):
    price = np.asarray(price, dtype=float)
    return Commitment(quantity=0.0, up_price=price,
                      down_price=price if production is None else np.asarray(production, float))


def test_loss_coefficients_known_values():
    a, b = loss_coefficients(np.array([1.0, 0.9]))
    np.testing.assert_allclose(a, [1.0, 0.9])
    np.testing.assert_allclose(b, [1.0, (0.9 - 1.0) / np.log(0.9)])
    assert b[1] == pytest.approx(0.9491221581029903)


def test_schedule_devices_arbitrage_lossless():
    # stock 1 of 2; cheap, dearer, dear, dear: fill up first, then empty
    out = schedule_devices([battery(4)], 4, commitments=[net_energy([1, 2, 3, 3])])
    np.testing.assert_allclose(out.power[0], [1.0, 0.0, -1.0, -1.0], atol=1e-9)
    np.testing.assert_allclose(out.stock[0], [2.0, 2.0, 1.0, 0.0], atol=1e-9)
    assert out.cost == pytest.approx(1 - 3 - 3)
    assert out.commitment_costs == [pytest.approx(out.cost)]


def test_schedule_devices_storage_losses_follow_ln_formula():
    a = 0.9
    n = 3
    dev = Device(derivative_min=np.zeros(n), derivative_max=np.full(n, 1.0),
                 derivative_equals=np.array([1.0, 0.0, 0.0]), storage_efficiency=a,
                 initial_stock=2.0)
    out = schedule_devices([dev], n)
    b = (a - 1) / np.log(a)
    s1 = a * 2.0 + b * 1.0
    np.testing.assert_allclose(out.stock[0], [s1, a * s1, a * a * s1], rtol=1e-12)


def test_schedule_devices_target_met_exactly():
    n = 6
    equals = np.full(n, np.nan)
    equals[3] = 2.5
    ev = Device(derivative_min=np.zeros(n), derivative_max=np.full(n, 1.0),
                stock_min=np.zeros(n), stock_equals=equals, up_efficiency=0.9)
    out = schedule_devices([ev], n, commitments=[net_energy([5, 1, 2, 1, 0, 0])])
    assert out.stock[0, 3] == pytest.approx(2.5, abs=1e-9)
    # 2.5 stored at 90 %: 2.778 drawn in the cheapest steps before the target (1, 3, 2)
    np.testing.assert_allclose(out.power[0, :4], [0.0, 1.0, 2.5 / 0.9 - 2.0, 1.0], atol=1e-9)


def test_schedule_devices_negative_prices_no_simultaneous_flows():
    # with a lossy battery, negative prices reward burning energy: only the binary
    # stops charging and discharging in the same step
    n = 4
    dev = battery(n, rt=0.81)
    price = np.array([-1.0, -1.0, -1.0, -1.0])
    out = schedule_devices([dev], n, commitments=[net_energy(price)])
    assert out.mip  # the relaxation split flows, so the MILP was solved
    forced = schedule_devices([dev], n, commitments=[net_energy(price)], force_mip=True)
    assert forced.cost == pytest.approx(out.cost, abs=1e-9)
    # cycling through the 90 %/90 % losses burns energy the site is paid to take:
    # one full discharge (1 out) and recharges to full: 2.3457 in, net 1.3457 taken
    assert out.power[0].min() == pytest.approx(-1.0)
    assert out.power[0].sum() == pytest.approx(1.0 / 0.81 + 0.1 / 0.9, rel=1e-9)
    assert out.cost == pytest.approx(-(1.0 / 0.81 + 0.1 / 0.9), rel=1e-9)


def test_schedule_devices_ems_limits_respected():
    n = 4
    out = schedule_devices([battery(n, p=2.0, s0=0.0, cap=8.0)], n, ems_min=np.full(n, -0.5),
                           ems_max=np.full(n, 0.5), commitments=[net_energy([1, 1, 3, 3])])
    assert out.power.max() <= 0.5 + 1e-9 and out.power.min() >= -0.5 - 1e-9


def test_schedule_devices_any_commitment_prices_the_peak():
    n = 4
    load = np.array([1.0, 3.0, 1.0, 1.0])
    fixed = Device(derivative_min=load, derivative_max=load, derivative_equals=load)
    out = schedule_devices([fixed, battery(n, p=2.0, s0=2.0, cap=4.0)], n, commitments=[
        net_energy([1, 1, 1, 1]),
        Commitment(quantity=1.5, up_price=10.0, each=False),  # peak above 1.5 costs 10/unit
    ])
    site = out.power.sum(axis=0)
    assert site.max() <= 1.5 + 1e-9  # the battery shaves the 3.0 peak
    assert out.commitment_costs[1] == pytest.approx(0.0, abs=1e-9)
    capped = schedule_devices([fixed], n, commitments=[
        Commitment(quantity=1.5, up_price=10.0, each=False)])
    assert capped.cost == pytest.approx(10.0 * 1.5)  # without the battery: (3.0 - 1.5) x 10


def test_schedule_devices_infeasible_target_raises():
    n = 2
    equals = np.array([np.nan, 5.0])  # 5 units in 2 steps at 1 per step: impossible
    ev = Device(derivative_min=np.zeros(n), derivative_max=np.ones(n), stock_equals=equals)
    with pytest.raises(SolveError, match="Infeasible"):
        schedule_devices([ev], n)
