"""mosaik adapter of the household load model: one entity per load. No physics here.

Sign convention: positive = consumption. Profiles are drawn once for the horizon.
"""

from __future__ import annotations

from mosaik_api_v3.types import Meta

from simulators.base import ArraySimulator, meta, params_from
from simulators.load.model import LoadParams, load_profiles_kw, reactive_power_kvar
from twin import inputs as scenario_inputs
from twin.rng import stream

META: Meta = meta("Household", ["p_kw", "q_kvar"], sets=("Household",))


class LoadSim(ArraySimulator):
    kinds = {"Household": "load"}

    def __init__(self):
        super().__init__(META)

    def setup(self):
        sc = self.scenario
        params = [
            params_from(LoadParams, a.spec) for a in self.assets["Household"]
        ]
        times = scenario_inputs.step_starts(sc)
        self.p_series_kw = load_profiles_kw(times, params, stream(sc.seed, "load"))
        pf = [p.power_factor for p in params]
        self.q_series_kvar = reactive_power_kvar(self.p_series_kw, pf)

    def advance(self, time, inputs):
        self.k = time // self.step_s

    def outputs(self, model, attr):
        return (self.p_series_kw if attr == "p_kw" else self.q_series_kvar)[self.k]
