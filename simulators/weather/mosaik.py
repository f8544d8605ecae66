"""mosaik adapter serving the scenario's weather (synthetic or measured) step by step."""

from __future__ import annotations

from simulators.base import ArraySimulator, meta
from simulators.weather.model import WEATHER_COLUMNS
from twin import inputs as scenario_inputs

META = meta("Weather", list(WEATHER_COLUMNS))


class WeatherSim(ArraySimulator):
    def __init__(self):
        super().__init__(META)

    def setup(self):
        frame = scenario_inputs.weather(self.scenario)
        self.columns = {c: frame[c].to_numpy(dtype=float) for c in WEATHER_COLUMNS}

    def advance(self, time, inputs):
        self.k = time // self.step_s

    def outputs(self, model, attr):
        return [float(self.columns[attr][self.k])]
