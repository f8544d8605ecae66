"""Builtin and flexmeasures backends on the same seeded trigger bodies reach the same
optimum (FlexMeasures' own device_scheduler in process; runs where it is installed)."""

from __future__ import annotations

import pytest

from agents.scheduling.backends import solve
from agents.scheduling.flex_model import parse_request
from tests.agents.scheduling.fm_requests import random_request

pytest.importorskip("flexmeasures")
pytestmark = pytest.mark.flexmeasures


@pytest.mark.parametrize("seed", range(60))
def test_builtin_and_flexmeasures_reach_the_same_optimum(seed):
    req = parse_request(random_request(seed, relax=None if seed % 4 else True))
    ours, fm = solve(req, "builtin"), solve(req, "flexmeasures")
    scale = max(1.0, abs(fm.objective_eur))
    assert abs(ours.objective_eur - fm.objective_eur) <= 1e-6 * scale
    # both schedules cost what their solvers say, under the same costing
    assert abs(fm.costs["total_eur"] - fm.objective_eur) <= 1e-6 * scale
    assert abs(ours.costs["total_eur"] - ours.objective_eur) <= 1e-6 * scale
