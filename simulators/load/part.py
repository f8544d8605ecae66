"""The household loads' part of the site simulator: the profiles stepped. No physics.

Sign convention: positive = consumption. Profiles are drawn once for the horizon
(``twin.inputs.household_load_kw``, shared with the forecasts).
"""

from __future__ import annotations

import numpy as np

from simulators.load.model import LoadParams, reactive_power_kvar
from twin import inputs as scenario_inputs
from twin.scenario.assets import Asset, params_from
from twin.scenario.schema import Scenario

ATTRS = ["p_kw", "q_kvar"]


class LoadPart:
    """Every household of the scenario (``assets``, in resolve order: the columns of
    the ``twin.inputs`` series)."""

    attrs = ATTRS

    def __init__(self, scenario: Scenario, assets: list[Asset]):
        self.p_series_kw = scenario_inputs.household_load_kw(scenario)
        pf = [params_from(LoadParams, a.spec).power_factor for a in assets]
        self.q_series_kvar = reactive_power_kvar(self.p_series_kw, pf)
        self.k = 0

    def advance(self, k: int) -> None:
        self.k = k

    def output(self, attr: str) -> np.ndarray:
        return (self.p_series_kw if attr == "p_kw" else self.q_series_kvar)[self.k]
