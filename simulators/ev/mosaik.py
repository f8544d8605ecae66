"""mosaik adapter of the SimPy EV fleet: chargers, EVs and the fleet's event stream.

Sign convention: positive = charging from the grid, V2G discharge negative ``p_kw``.

A hybrid simulator. At each power-flow step ``t`` it takes the chargers' setpoints and
runs the SimPy fleet through ``[t, t + step)``: arrivals, plug-ins and departures happen
at their exact instants inside the step and charging starts and stops there, so
``p_kw`` is each charger's mean power over the step. The adapter then asks mosaik to
step it again at every event instant inside the step, where the ``Fleet`` entity
publishes the events (non-persistent ``events`` output) at their real times.
State outputs hold the state at the end of the step, among them each charger's window
for the next step (``p_charge_avail_kw``, ``p_discharge_avail_kw``: what the plugged EV
can take or give over a whole step, magnitudes >= 0): connect them to a controller with
``time_shifted=True``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from mosaik_api_v3.types import Meta

from simulators.base import ArraySimulator, meta
from simulators.ev.model import ChargerParams, EvFleet, EvParams
from twin.rng import stream
from twin.scenario.assets import params_from

CHARGER_ATTRS = [
    "p_set_kw", "p_kw", "plugged", "p_charge_avail_kw", "p_discharge_avail_kw", "e_kwh",
]
# what a scheduler needs of the EV plugged into each charger (NaN / 0 where none)
PLUGGED_EV_ATTRS = [
    "ev_departure_s", "ev_e_kwh", "ev_e_min_kwh", "ev_e_max_kwh", "ev_e_target_kwh",
    "ev_eta_charge", "ev_eta_discharge",
]
EV_ATTRS = ["soc_percent", "e_kwh", "charger", "on_site", "e_owed_kwh"]
FLEET_ATTRS = ["n_plugged", "n_waiting", "events"]
META: Meta = meta(
    "Charger", CHARGER_ATTRS + PLUGGED_EV_ATTRS, kind="hybrid",
    extra={
        "EV": {"public": True, "params": ["ids"], "attrs": EV_ATTRS, "trigger": []},
        "Fleet": {
            "public": True, "params": ["ids"], "attrs": FLEET_ATTRS, "trigger": [],
            "non-persistent": ["events"],
        },
    },
    sets=("Charger", "EV"),
)


def build_fleet(scenario, evs: list, chargers: list) -> EvFleet:
    """The scenario's fleet (the same trips for the same seed)."""
    return EvFleet(
        [params_from(EvParams, a.spec) for a in evs],
        [params_from(ChargerParams, a.spec) for a in chargers],
        pd.Timestamp(scenario.start).tz_convert(scenario.site.timezone),
        stream(scenario.seed, "ev"),
        horizon_s=scenario.duration_s,
    )


def initial_outputs(scenario, evs: list, chargers: list) -> list[dict[str, float]]:
    """Each charger's power window at t = 0 (for time-shifted connections): EVs that
    are on site at the start can charge from the first step."""
    fleet = build_fleet(scenario, evs, chargers)
    lo, hi = fleet.p_window_kw(scenario.step_s)
    view = fleet.plugged_ev_view()
    return [{"p_charge_avail_kw": float(hi[j]), "p_discharge_avail_kw": float(-lo[j]),
             **{f"ev_{k}": float(v[j]) for k, v in view.items()}}
            for j in range(len(hi))]


class EvSim(ArraySimulator):
    kinds = {"Charger": "ev_charger", "EV": "ev"}

    def __init__(self):
        super().__init__(META)
        self._pending: list[dict] = []
        self._published: list[dict] = []

    def setup(self):
        self.fleet = build_fleet(
            self.scenario, self.assets.get("EV", []), self.assets.get("Charger", [])
        )
        self.ev_ids = [a.id for a in self.assets.get("EV", [])]
        self.charger_ids = [a.id for a in self.assets.get("Charger", [])]
        self.p_set_kw = np.zeros(len(self.charger_ids))

    def step(self, time, inputs, max_advance):
        if not self._ready:
            self.setup()
            self._ready = True
        if time % self.step_s == 0:
            self.p_set_kw = self.input_array(inputs, "Charger", "p_set_kw", 0.0)
            self.fleet.set_power(self.p_set_kw)
            self.fleet.advance(time + self.step_s)
            self._pending += [
                {**e, "t_s": float(e["t_s"]), "ev": self.ev_ids[e["ev"]],
                 "charger": self.charger_ids[e["charger"]] if e["charger"] >= 0 else ""}
                for e in self.fleet.pop_events()
            ]
        now = [e for e in self._pending if math.floor(e["t_s"]) <= time]
        self._pending = [e for e in self._pending if math.floor(e["t_s"]) > time]
        self._published = now
        nxt = time - time % self.step_s + self.step_s
        if self._pending:
            nxt = min(nxt, math.floor(self._pending[0]["t_s"]))
        return nxt

    def outputs(self, model, attr):
        f = self.fleet
        if model == "Charger":
            if attr == "p_set_kw":
                return self.p_set_kw
            if attr.startswith("ev_"):
                return f.plugged_ev_view()[attr[3:]]
            if attr in ("p_charge_avail_kw", "p_discharge_avail_kw"):
                lo, hi = f.p_window_kw(self.step_s)
                return hi if attr == "p_charge_avail_kw" else -lo
            getter = {"p_kw": f.p_mean_kw, "e_kwh": f.e_delivered_kwh}.get(attr)
            return (getter or getattr(f, attr))()
        if model == "EV":
            if attr == "on_site":
                return [s != "away" for s in f.ev_state()]
            return {"soc_percent": f.ev_soc_percent, "e_kwh": f.ev_e_kwh,
                    "charger": f.ev_charger, "e_owed_kwh": f.ev_e_owed_kwh}[attr]()
        if attr == "n_plugged":
            return [int(f.plugged().sum())]
        if attr == "n_waiting":
            return [f.ev_state().count("waiting")]
        return [self._published]

    def get_data(self, outputs):
        data = super().get_data(outputs)
        for row in data.values():  # events are published once, at their own time
            if "events" in row and not row["events"]:
                del row["events"]
        return data
