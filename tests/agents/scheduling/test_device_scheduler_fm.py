"""Equivalence with FlexMeasures' own device_scheduler on seeded random problems.

Runs where FlexMeasures is installed (``pip install flexmeasures``); see the README.
"""

from __future__ import annotations

import pytest

from agents.scheduling.device_scheduler import schedule_devices
from tests.agents.scheduling.fm_problems import random_problem, to_flexmeasures

pytest.importorskip("flexmeasures")
pytestmark = pytest.mark.flexmeasures


@pytest.fixture(scope="module")
def fm():
    from flask import Flask
    from flexmeasures.data.models.planning.linear_optimization import device_scheduler

    app = Flask("cariflex-equivalence")
    app.config.update(FLEXMEASURES_LP_SOLVER="highspy", LOGGING_LEVEL="INFO")
    with app.app_context():
        yield device_scheduler


@pytest.mark.parametrize("seed", range(60))
def test_builtin_reaches_flexmeasures_optimum(fm, seed):
    problem = random_problem(seed)
    ours = schedule_devices(problem["devices"], problem["n"], problem["ems_min"],
                            problem["ems_max"], problem["commitments"])
    frames, ems, commitments, stocks = to_flexmeasures(problem)
    _, cost, results, _ = fm(frames, ems, commitments=commitments, initial_stock=stocks)
    assert str(results.solver.termination_condition) == "optimal"
    assert abs(ours.cost - cost) <= 1e-6 * max(1.0, abs(cost))
