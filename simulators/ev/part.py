"""The EV fleet's part of the site simulator: chargers, EVs and the fleet's event stream.

Sign convention: positive = charging from the grid, V2G discharge negative ``p_kw``.

At each power-flow step ``t`` it takes the chargers' set-points and runs the SimPy fleet
through ``[t, t + step)``: arrivals, plug-ins and departures happen at their exact
instants inside the step and charging starts and stops there, so ``p_kw`` is each
charger's mean power over the step. The events are then published at their own
instants: :meth:`EvPart.next_event_s` tells the site simulator when to be stepped
again inside the step, and :meth:`EvPart.publish` hands out the events due by then.
State outputs hold the state at the end of the step, among them each charger's window
for the next step (``p_charge_avail_kw``, ``p_discharge_avail_kw``: what the plugged EV
can take or give over a whole step, magnitudes >= 0): connect them to a controller
with ``time_shifted=True``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simulators.ev.model import ChargerParams, EvFleet, EvParams
from twin.rng import stream
from twin.scenario.assets import Asset, params_from

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


class EvPart:
    """The EVs and chargers of the scenario, in asset order."""

    def __init__(self, scenario, evs: list[Asset], chargers: list[Asset]):
        self.fleet = build_fleet(scenario, evs, chargers)
        self.step_s = scenario.step_s
        self.ev_ids = [a.id for a in evs]
        self.charger_ids = [a.id for a in chargers]
        self.p_set_kw = np.zeros(len(chargers))
        self._pending: list[dict] = []
        self.published: list[dict] = []
        self._cache: dict[str, object] = {}

    def advance(self, time: int, p_set_kw: np.ndarray) -> None:
        """The step ``[time, time + step)`` at the chargers' set-points."""
        self.p_set_kw = p_set_kw
        self.fleet.set_power(p_set_kw)
        self.fleet.advance(time + self.step_s)
        self._cache = {}
        self._pending += [
            {**e, "t_s": float(e["t_s"]), "ev": self.ev_ids[e["ev"]],
             "charger": self.charger_ids[e["charger"]] if e["charger"] >= 0 else ""}
            for e in self.fleet.pop_events()
        ]

    def publish(self, time: int) -> None:
        """The events due at ``time`` (their instant floored to the second)."""
        self.published = [e for e in self._pending if math.floor(e["t_s"]) <= time]
        self._pending = [e for e in self._pending if math.floor(e["t_s"]) > time]

    def next_event_s(self) -> int | None:
        """The second of the next event still to publish, if any."""
        return math.floor(self._pending[0]["t_s"]) if self._pending else None

    def charger(self, attr: str):
        """``attr`` of every charger (:data:`CHARGER_ATTRS`, :data:`PLUGGED_EV_ATTRS`)."""
        f = self.fleet
        if attr == "p_set_kw":
            return self.p_set_kw
        if attr.startswith("ev_"):
            return self._view()[attr[3:]]
        if attr in ("p_charge_avail_kw", "p_discharge_avail_kw"):
            lo, hi = self._window()
            return hi if attr == "p_charge_avail_kw" else -lo
        getter = {"p_kw": f.p_mean_kw, "e_kwh": f.e_delivered_kwh}.get(attr)
        return (getter or getattr(f, attr))()

    def ev(self, attr: str):
        """``attr`` of every EV (:data:`EV_ATTRS`)."""
        f = self.fleet
        if attr == "on_site":
            return [s != "away" for s in f.ev_state()]
        return {"soc_percent": f.ev_soc_percent, "e_kwh": f.ev_e_kwh,
                "charger": f.ev_charger, "e_owed_kwh": f.ev_e_owed_kwh}[attr]()

    def fleet_output(self, attr: str):
        """``attr`` of the fleet as a whole (:data:`FLEET_ATTRS`)."""
        if attr == "n_plugged":
            return int(self.fleet.plugged().sum())
        if attr == "n_waiting":
            return self.fleet.ev_state().count("waiting")
        return self.published

    def _view(self) -> dict:
        if "view" not in self._cache:
            self._cache["view"] = self.fleet.plugged_ev_view()
        return self._cache["view"]

    def _window(self) -> tuple:
        if "window" not in self._cache:
            self._cache["window"] = self.fleet.p_window_kw(self.step_s)
        return self._cache["window"]
