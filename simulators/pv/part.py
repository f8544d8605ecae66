"""The PV systems' part of the site simulator: the model stepped over arrays. No physics.

Sign convention: positive = consumption, so PV production is negative ``p_kw``.
Available power is computed once for the whole horizon (pvlib is vectorised, in
``twin.inputs.pv_available_kw``, shared with the forecasts); each step applies the
active-power limit received on ``p_limit_kw`` (magnitude, >= 0; none: no limit).
"""

from __future__ import annotations

import numpy as np

from simulators.pv.model import PvParams, curtail
from twin import inputs as scenario_inputs
from twin.scenario.assets import Asset, params_from
from twin.scenario.schema import Scenario

ATTRS = ["p_kw", "p_avail_kw", "p_limit_kw", "p_dc_kwp"]


class PvPart:
    """Every PV system of the scenario (``assets``, in resolve order: the columns of
    the ``twin.inputs`` series)."""

    attrs = ATTRS

    def __init__(self, scenario: Scenario, assets: list[Asset]):
        self.p_avail_series_kw = scenario_inputs.pv_available_kw(scenario)
        self.p_dc_kwp = np.array([params_from(PvParams, a.spec).p_dc_kwp for a in assets])
        self.p_avail_kw = self.p_kw = np.zeros(len(assets))
        self.p_limit_kw = np.full(len(assets), np.inf)

    def advance(self, k: int, p_limit_kw: np.ndarray | None) -> None:
        """Step ``k``: the available power of the step, curtailed to the limit."""
        self.p_avail_kw = self.p_avail_series_kw[k]
        if p_limit_kw is None:
            self.p_limit_kw = np.full(len(self.p_dc_kwp), np.inf)
            self.p_kw = self.p_avail_kw
        else:
            self.p_limit_kw = p_limit_kw
            self.p_kw = curtail(self.p_avail_kw, p_limit_kw)

    def output(self, attr: str) -> np.ndarray:
        return getattr(self, attr)
