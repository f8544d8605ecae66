"""mosaik adapter of the site: every simulated device and the feeder in one simulator.
No physics here: each device class is a part (``simulators/<device>/part.py``) over
arrays, and this adapter steps them in the order of one step's data flow.

Sign convention: positive = consumption / charging / import, on every attribute.

Entities, one per device class, whose attributes are lists over the class's assets in
the scenario's resolve order (``PVSet``, ``HouseholdSet``, ``BatterySet``, ``ChargerSet``,
``EVSet``); ``Fleet`` (the EV fleet: ``n_plugged``, ``n_waiting`` and the non-persistent
``events``) and ``Grid`` (the feeder's results). Inputs: ``p_set_kw`` of ``BatterySet``
and ``ChargerSet`` (the control's set-points for the step), ``p_limit_kw`` of ``PVSet``
(optional), and on ``Grid`` the HIL devices' measured ``hil_p_kw`` / ``hil_q_kvar``
(lists in :func:`twin.scenario.assets.hil_assets` order), which stand in for the
simulated devices in the power flow (a HIL device's twin still runs, on the same
set-points).

One step ``[t, t + step)``: PV, loads, batteries and the EV fleet advance, then the
power flow solves with every device's power at its bus. The simulator is hybrid: it is
stepped again at every EV event instant inside the step, where ``Fleet`` publishes the
events due. One simulator for the whole site because mosaik's cost per step grows with
the number of simulators much faster than with the data they pass
(``benchmarks/bench_year.py`` measures it).
"""

from __future__ import annotations

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import Meta

from simulators.base import overlay, set_input
from simulators.battery.part import ATTRS as BATTERY_ATTRS
from simulators.battery.part import BatteryPart
from simulators.ev.part import CHARGER_ATTRS, EV_ATTRS, FLEET_ATTRS, PLUGGED_EV_ATTRS, EvPart
from simulators.feeder.part import GRID_ATTRS, FeederPart
from simulators.load.part import ATTRS as LOAD_ATTRS
from simulators.load.part import LoadPart
from simulators.pv.part import ATTRS as PV_ATTRS
from simulators.pv.part import PvPart
from twin.scenario.assets import hil_positions, resolve_assets
from twin.scenario.schema import Scenario


def _model(attrs: list[str], **extra) -> dict:
    return {"public": True, "params": [], "attrs": attrs, "trigger": [], **extra}


META: Meta = {
    "api_version": "3.0", "type": "hybrid",
    "models": {
        "PVSet": _model(PV_ATTRS), "HouseholdSet": _model(LOAD_ATTRS),
        "BatterySet": _model(BATTERY_ATTRS),
        "ChargerSet": _model(CHARGER_ATTRS + PLUGGED_EV_ATTRS), "EVSet": _model(EV_ATTRS),
        "Fleet": _model(FLEET_ATTRS, **{"non-persistent": ["events"]}),
        "Grid": _model([*GRID_ATTRS, "hil_p_kw", "hil_q_kvar"]),
    },
}
# model -> its one entity's id (the ids name the recorder's columns)
EIDS = {"PVSet": "pv_set", "HouseholdSet": "household_set", "BatterySet": "battery_set",
        "ChargerSet": "charger_set", "EVSet": "ev_set", "Fleet": "fleet", "Grid": "grid"}
KINDS = ("pv", "load", "battery", "ev_charger")  # what has a power at a bus


class SiteSim(mosaik_api_v3.Simulator):
    def __init__(self):
        super().__init__(META)
        self.created: dict[str, str] = {}  # entity id -> model
        self._ready = False

    def init(self, sid, time_resolution=1.0, scenario: dict | None = None):
        if time_resolution != 1.0:
            raise ValueError("Cariflex adapters run with time_resolution=1.0 (seconds)")
        self.scenario = Scenario.model_validate(scenario)
        self.step_s = self.scenario.step_s
        return self.meta

    def create(self, num, model):
        eid = EIDS[model]
        if num != 1 or eid in self.created:
            raise ValueError(f"create(1, {model!r}): one {model} entity per run")
        self.created[eid] = model
        return [{"eid": eid, "type": model}]

    def setup(self) -> None:
        sc = self.scenario
        assets = resolve_assets(sc)
        self.pv = PvPart(sc, assets["pv"])
        self.load = LoadPart(sc, assets["load"])
        self.battery = BatteryPart(assets["battery"], self.step_s)
        self.ev = EvPart(sc, assets["ev"], assets["ev_charger"])
        self.feeder = FeederPart(sc, {kind: assets[kind] for kind in KINDS})
        self.n = {kind: len(assets[kind]) for kind in KINDS}
        self.hil_pos = hil_positions(assets)
        self._lists: dict[tuple[str, str], object] = {}  # outputs of the step, as sent

    def step(self, time, inputs, max_advance):
        if not self._ready:
            self.setup()
            self._ready = True
        if time % self.step_s == 0:
            self._advance(time, inputs)
        self.ev.publish(time)
        nxt = time - time % self.step_s + self.step_s
        event_s = self.ev.next_event_s()
        return nxt if event_s is None else min(nxt, event_s)

    def _advance(self, time: int, inputs: dict) -> None:
        k, n = time // self.step_s, self.n
        self._lists = {}
        self.pv.advance(k, set_input(inputs, "pv_set", "p_limit_kw", n["pv"]))
        self.load.advance(k)
        self.battery.advance(set_input(inputs, "battery_set", "p_set_kw", n["battery"], 0.0))
        self.ev.advance(time, set_input(inputs, "charger_set", "p_set_kw", n["ev_charger"], 0.0))
        p = {"pv": self.pv.output("p_kw"), "load": self.load.output("p_kw"),
             "battery": self.battery.output("p_kw"), "ev_charger": self.ev.charger("p_kw")}
        q = {"load": self.load.output("q_kvar")}
        if self.hil_pos:
            p, q = self._hil_overlay(inputs, p, q)
        self.feeder.advance(p, q)

    def _hil_overlay(self, inputs: dict, p: dict, q: dict) -> tuple[dict, dict]:
        """The HIL devices' measured powers in place of their twins' in the power flow."""
        n_hil = len(self.hil_pos)
        hil_p = set_input(inputs, "grid", "hil_p_kw", n_hil, 0.0)
        hil_q = set_input(inputs, "grid", "hil_q_kvar", n_hil, 0.0)
        p = {kind: overlay(v, self.hil_pos, kind, hil_p) for kind, v in p.items()}
        return p, {"load": overlay(q["load"], self.hil_pos, "load", hil_q)}

    def _output(self, model: str, attr: str):
        if model == "PVSet":
            return self.pv.output(attr)
        if model == "HouseholdSet":
            return self.load.output(attr)
        if model == "BatterySet":
            return self.battery.output(attr)
        if model == "ChargerSet":
            return self.ev.charger(attr)
        if model == "EVSet":
            return self.ev.ev(attr)
        if model == "Fleet":
            return self.ev.fleet_output(attr)
        return self.feeder.output(attr)

    def get_data(self, outputs):
        """The outputs asked, each converted once a step (also asked again at the EV
        event instants inside the step, where only the events change)."""
        data, lists = {}, self._lists
        for eid, attrs in outputs.items():
            model = self.created[eid]
            row = data[eid] = {}
            for attr in attrs:
                key = (model, attr)
                if key not in lists:
                    value = self._output(model, attr)
                    lists[key] = value.tolist() if isinstance(value, np.ndarray) else value
                row[attr] = lists[key]
            if model == "Fleet" and "events" in attrs:
                row["events"] = self.ev.published
                if not row["events"]:
                    del row["events"]  # events are published once, at their own time
        return data
