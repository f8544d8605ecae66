"""mosaik adapter of the feeder: AC power flow every step. No physics here.

Sign convention: positive ``p_kw`` into a ``Bus`` = consumption at that bus;
``p_import_kw`` > 0 = the site imports from the 20 kV grid.

Entities: one ``Bus`` per LV bus (inputs ``p_kw``/``q_kvar`` summed over every device
connected to it; output ``vm_pu``) and one ``Grid`` with the feeder-wide results.
A power flow that does not converge gives ``converged = 0`` and NaN results for that
step; the run goes on and the report counts such steps.
"""

from __future__ import annotations

import numpy as np
from mosaik_api_v3.types import Meta

from simulators.base import ArraySimulator, meta
from simulators.feeder.model import Feeder, FeederParams, create_lv_radial
from twin.scenario.assets import params_from

GRID_ATTRS = [
    "p_import_kw", "q_import_kvar", "p_loss_kw", "p_load_kw", "converged", "vm_min_pu",
    "vm_max_pu", "trafo_loading_percent", "line_loading_max_percent", "vm_pu_bus",
    "line_loading_percent",
]
META: Meta = meta(
    "Bus", ["p_kw", "q_kvar", "vm_pu"],
    extra={"Grid": {"public": True, "params": ["ids"], "attrs": GRID_ATTRS, "trigger": []}},
)


class FeederSim(ArraySimulator):
    def __init__(self):
        super().__init__(META)

    def create(self, num, model, ids=None):
        if model == "Bus" and ids is None:
            ids = self.scenario.grid.lv_bus_names()
        return super().create(num, model, ids)

    def setup(self):
        self.feeder = Feeder(create_lv_radial(params_from(FeederParams, self.scenario.grid)))
        self.bus_ids = self.eids.get("Bus", [])
        self.load_pos = np.array([self.feeder.load_index(b) for b in self.bus_ids], dtype=int)
        self.lv_bus_pos = np.array([self.feeder.bus_names.index(b) for b in self.bus_ids])
        self.n_loads = len(self.feeder.load_bus)

    def advance(self, time, inputs):
        p = np.zeros(self.n_loads)
        q = np.zeros(self.n_loads)
        p[self.load_pos] = self.input_array(inputs, "Bus", "p_kw", 0.0)
        q[self.load_pos] = self.input_array(inputs, "Bus", "q_kvar", 0.0)
        r = self.feeder.solve(p, q)
        vm = r.vm_pu[self.lv_bus_pos]
        self.bus_vm_pu = vm
        self.grid = {
            "p_import_kw": r.p_import_kw, "q_import_kvar": r.q_import_kvar,
            "p_loss_kw": r.p_loss_kw, "p_load_kw": float(p.sum()), "converged": int(r.converged),
            "vm_min_pu": float(np.min(vm)), "vm_max_pu": float(np.max(vm)),
            "trafo_loading_percent": r.trafo_loading_percent,
            "line_loading_max_percent": float(np.max(r.line_loading_percent)),
            "vm_pu_bus": vm.tolist(),
            "line_loading_percent": r.line_loading_percent.tolist(),
        }

    def outputs(self, model, attr):
        return self.bus_vm_pu if model == "Bus" else [self.grid[attr]]
