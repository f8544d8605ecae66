"""The planner's loss estimate of the feeder (simulators.feeder.model.loss_estimate),
checked against pandapower's own power flow."""

import numpy as np
import pytest

from simulators.feeder.model import (
    loss_estimate,
    worst_spread,
)


def test_a_plan_at_the_device_capacity_keeps_the_transformer_at_its_limit(feeder):
    far = feeder.load_index("f2_b8")
    devices = [(feeder.load_index("f1_b2"), 60.0), (far, 60.0),
               (feeder.load_index("f3_b7"), 60.0), (feeder.load_index("f1_b8"), 80.0)]
    est = loss_estimate(feeder, devices)
    assert 200.0 < est.device_capacity_kw < 250.0  # losses take some of the 250 kVA
    p = worst_spread(feeder, devices, est.device_capacity_kw)
    assert p.sum() == pytest.approx(est.device_capacity_kw)
    assert p[far] == pytest.approx(60.0)  # the far end of a feeder is filled first
    r = feeder.solve_pandapower(p, np.zeros(len(p)))  # runpp, not the planner's solver
    assert r.trafo_loading_percent == pytest.approx(100.0, abs=0.05)
    # any other spread of the same power loses less, so stays within the limit
    even = np.full(len(p), est.device_capacity_kw / len(p))
    assert feeder.solve_pandapower(even, np.zeros(len(p))).trafo_loading_percent < 100.0


def test_device_limit_inverts_the_fitted_losses(feeder):
    est = loss_estimate(feeder, [(feeder.load_index("f1_b8"), 300.0)])
    assert est.device_limit_kw(250.0) == pytest.approx(est.device_capacity_kw, abs=1e-6)
    p = est.device_limit_kw(120.0)
    assert p + est.fixed_kw + est.per_kw2 * p ** 2 == pytest.approx(120.0)
    assert est.device_limit_kw(0.1) == 0.0  # below the no-load losses nothing is left
