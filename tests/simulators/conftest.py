"""Fixtures shared by the simulator tests."""

import pytest

from simulators.feeder.model import Feeder, FeederParams, create_lv_radial


@pytest.fixture(scope="module")
def feeder() -> Feeder:
    """The default LV radial feeder (``FeederParams()``), built once per test module."""
    return Feeder(create_lv_radial(FeederParams()))
