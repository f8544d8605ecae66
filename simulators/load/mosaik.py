"""mosaik adapter of the household load model: one entity per load. No physics here.

Sign convention: positive = consumption. Profiles are drawn once for the horizon
(``twin.inputs.household_load_kw``, shared with the forecasts).
"""

from __future__ import annotations

from mosaik_api_v3.types import Meta

from simulators.base import ArraySimulator, meta
from simulators.load.model import LoadParams, reactive_power_kvar
from twin import inputs as scenario_inputs
from twin.scenario.assets import params_from

META: Meta = meta("Household", ["p_kw", "q_kvar"], sets=("Household",))


class LoadSim(ArraySimulator):
    kinds = {"Household": "load"}

    def __init__(self):
        super().__init__(META)

    def setup(self):
        columns = self.scenario_columns("Household")
        self.p_series_kw = scenario_inputs.household_load_kw(self.scenario)[:, columns]
        pf = [params_from(LoadParams, a.spec).power_factor for a in self.assets["Household"]]
        self.q_series_kvar = reactive_power_kvar(self.p_series_kw, pf)

    def advance(self, time, inputs):
        self.k = time // self.step_s

    def outputs(self, model, attr):
        return (self.p_series_kw if attr == "p_kw" else self.q_series_kvar)[self.k]
