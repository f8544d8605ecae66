"""Fixtures shared by the SunSpec tests."""

import pytest

from tests import REPO
from twin.scenario.loading import load_scenario


@pytest.fixture(scope="module")
def scenario():
    """The baseline from 11:00 local: the PV systems produce (~3 kW of 4.6 kW) from the
    first step."""
    return load_scenario(REPO / "scenarios" / "martinique_baseline.yaml",
                         ["start=2026-06-01T11:00:00-04:00"])
