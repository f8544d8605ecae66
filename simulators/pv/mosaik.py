"""mosaik adapter of the PV model: one entity per PV system. No physics here.

Sign convention: positive = consumption, so PV production is negative ``p_kw``.
Available power is computed once for the whole horizon (pvlib is vectorised, in
``twin.inputs.pv_available_kw``, shared with the forecasts); each
step applies the active-power limit received on ``p_limit_kw`` (magnitude, >= 0).
"""

from __future__ import annotations

import numpy as np
from mosaik_api_v3.types import Meta

from simulators.base import ArraySimulator, meta
from simulators.pv.model import PvParams, curtail
from twin import inputs as scenario_inputs
from twin.scenario.assets import params_from

META: Meta = meta("PV", ["p_kw", "p_avail_kw", "p_limit_kw", "p_dc_kwp"], sets=("PV",))


class PvSim(ArraySimulator):
    kinds = {"PV": "pv"}

    def __init__(self):
        super().__init__(META)

    def setup(self):
        columns = self.scenario_columns("PV")
        self.p_avail_series_kw = scenario_inputs.pv_available_kw(self.scenario)[:, columns]
        params = [params_from(PvParams, a.spec) for a in self.assets["PV"]]
        self.p_dc_kwp = np.array([p.p_dc_kwp for p in params])
        self.p_avail_kw = self.p_kw = np.zeros(len(params))
        self.p_limit_kw = np.full(len(params), np.inf)

    def advance(self, time, inputs):
        self.p_avail_kw = self.p_avail_series_kw[time // self.step_s]
        self.p_limit_kw = self.input_array(inputs, "PV", "p_limit_kw", np.inf)
        self.p_kw = curtail(self.p_avail_kw, self.p_limit_kw)

    def outputs(self, model, attr):
        return getattr(self, attr)
