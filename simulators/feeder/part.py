"""The feeder's part of the site simulator: every device's power into its bus, then
the AC power flow. No physics here.

Sign convention: positive ``p_kw`` at a bus = consumption at that bus;
``p_import_kw`` > 0 = the site imports from the 20 kV grid.

A power flow that does not converge gives ``converged = 0`` and NaN results for that
step; the run goes on and the report counts such steps.
"""

from __future__ import annotations

import numpy as np

from simulators.feeder.model import Feeder, FeederParams, create_lv_radial
from twin.scenario.assets import Asset, params_from
from twin.scenario.schema import Scenario

GRID_ATTRS = [
    "p_import_kw", "q_import_kvar", "p_loss_kw", "p_load_kw", "converged", "vm_min_pu",
    "vm_max_pu", "trafo_loading_percent", "line_loading_max_percent", "vm_pu_bus",
    "line_loading_percent",
]


class FeederPart:
    """The scenario's feeder with the buses of ``assets`` (kind -> assets) known."""

    attrs = GRID_ATTRS

    def __init__(self, scenario: Scenario, assets: dict[str, list[Asset]]):
        self.feeder = Feeder(create_lv_radial(params_from(FeederParams, scenario.grid)))
        self.n_loads = len(self.feeder.load_bus)
        self.load_pos = {kind: np.array([self.feeder.load_index(a.bus) for a in items],
                                        dtype=int)
                         for kind, items in assets.items()}
        names = self.feeder.bus_names
        self.lv_bus_pos = np.array([names.index(b) for b in scenario.grid.lv_bus_names()])
        self.grid: dict = {}

    def injections(self, values_by_kind: dict[str, np.ndarray]) -> np.ndarray:
        """Each feeder load's net value: the sum over the devices at its bus."""
        out = np.zeros(self.n_loads)
        for kind, values in values_by_kind.items():
            np.add.at(out, self.load_pos[kind], values)
        return out

    def advance(self, p_kw: dict[str, np.ndarray], q_kvar: dict[str, np.ndarray]) -> None:
        """Solve the step with every device's ``p_kw`` and ``q_kvar`` (kind -> array)."""
        p, q = self.injections(p_kw), self.injections(q_kvar)
        r = self.feeder.solve(p, q)
        vm = r.vm_pu[self.lv_bus_pos]
        self.grid = {
            "p_import_kw": r.p_import_kw, "q_import_kvar": r.q_import_kvar,
            "p_loss_kw": r.p_loss_kw, "p_load_kw": float(p.sum()), "converged": int(r.converged),
            "vm_min_pu": float(np.min(vm)), "vm_max_pu": float(np.max(vm)),
            "trafo_loading_percent": r.trafo_loading_percent,
            "line_loading_max_percent": float(np.max(r.line_loading_percent)),
            "vm_pu_bus": vm.tolist(),
            "line_loading_percent": r.line_loading_percent.tolist(),
        }

    def output(self, attr: str):
        return self.grid[attr]
