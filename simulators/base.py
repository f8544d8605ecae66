"""Shared plumbing of the mosaik adapters: entities backed by arrays, no physics.

An adapter derives from :class:`ArraySimulator`, declares ``META`` and implements
``setup`` (build the pure model from the scenario), ``advance`` (one step) and
``outputs`` (attribute name -> array, one value per entity).
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
import numpy as np

from twin.scenario.assets import Asset, resolve_assets
from twin.scenario.schema import Scenario


def meta(model: str, attrs: list[str], *, kind: str = "time-based", trigger=(), extra=None,
         sets: tuple[str, ...] = ()):
    """A mosaik META for one public model created with an ``ids`` parameter.

    For each model named in ``sets`` a ``<model>Set`` model is added: one entity whose
    attributes are lists over all entities of that model, in creation order (one
    connection instead of one per entity, for recorders and fleet-wide consumers).
    """
    models = {model: {"public": True, "params": ["ids"], "attrs": attrs, "trigger": list(trigger)}}
    models.update(extra or {})
    for name in sets:
        models[f"{name}Set"] = {"public": True, "params": [], "attrs": models[name]["attrs"],
                                "trigger": []}
    return {"api_version": "3.0", "type": kind, "models": models}


def _plain(values) -> list:
    """Array or list of outputs as plain Python values (what mosaik serialises)."""
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def set_input(inputs: dict, eid: str, attr: str, n: int,
              default: float | None = None) -> np.ndarray | None:
    """A list-valued input of entity ``eid`` as an array of ``n`` (the element-wise sum
    over its sources); where nothing is connected, ``default`` for every entry (None:
    None)."""
    sources = inputs.get(eid, {}).get(attr)
    if not sources:
        return None if default is None else np.full(n, default, dtype=float)
    if len(sources) == 1:
        (values,) = sources.values()
        out = np.array(values, dtype=float)
        return out if out.shape == (n,) else np.broadcast_to(out, (n,)).copy()  # a scalar
    out = np.zeros(n)
    for values in sources.values():
        out += np.asarray(values, dtype=float)
    return out


def overlay(values: np.ndarray, positions: list[tuple[str, int]], kind: str,
            replacements) -> np.ndarray:
    """``values`` of the assets of ``kind`` with the entries at ``positions`` (``(kind,
    index)``, one per replacement, as :func:`twin.scenario.assets.hil_positions` gives)
    replaced: what a HIL device measured, in place of its simulated twin's value."""
    out = np.array(values, dtype=float)
    for (k, i), value in zip(positions, replacements, strict=True):
        if k == kind:
            out[i] = value
    return out


class ArraySimulator(mosaik_api_v3.Simulator):
    """Entities whose outputs are arrays, one array per (model, attribute).

    ``create`` may be called once per model; ``self.eids[model]`` lists the entity ids
    in array order and ``self.assets[model]`` the scenario assets behind them. A
    ``<model>Set`` entity (see :func:`meta`) outputs the whole arrays as lists.
    ``setup`` runs once, before the first step, when every model has been created.
    """

    kinds: dict[str, str] = {}  # model -> asset kind in the scenario ("" = not an asset)

    def __init__(self, meta_: dict):
        super().__init__(meta_)
        self.eids: dict[str, list[str]] = {}
        self.assets: dict[str, list[Asset]] = {}
        self._index: dict[str, tuple[str, int | None]] = {}
        self._ready = False
        self.step_s = 900

    def init(self, sid, time_resolution=1.0, scenario: dict | None = None, **params):
        if time_resolution != 1.0:
            raise ValueError("Cariflex adapters run with time_resolution=1.0 (seconds)")
        self.scenario = Scenario.model_validate(scenario)
        self.step_s = self.scenario.step_s
        self.params = params
        return self.meta

    def create(self, num, model, ids: list[str] | None = None):
        if model.endswith("Set") and model[:-3] in self.meta["models"]:
            if num != 1:
                raise ValueError(f"create(1, {model!r}): one set entity per model")
            eid = f"{model[:-3].lower()}_set"
            self._index[eid] = (model[:-3], None)
            return [{"eid": eid, "type": model}]
        if model in self.eids:
            raise RuntimeError(f"{type(self).__name__}: create() once per model ({model})")
        kind = self.kinds.get(model, "")
        if kind:
            by_id = {a.id: a for a in resolve_assets(self.scenario)[kind]}
            ids = list(by_id) if ids is None else ids
            self.assets[model] = [by_id[i] for i in ids]
        ids = [model.lower()] if ids is None else ids
        if len(ids) != num:
            raise ValueError(f"create({num}, {model!r}) got {len(ids)} ids")
        self.eids[model] = list(ids)
        self._index.update({eid: (model, i) for i, eid in enumerate(ids)})
        return [{"eid": eid, "type": model} for eid in ids]

    def step(self, time, inputs, max_advance):
        if not self._ready:
            self.setup()
            self._ready = True
        self.advance(time, inputs)
        return time + self.step_s

    def get_data(self, outputs):
        cache: dict[tuple[str, str], list] = {}
        data: dict[str, dict[str, Any]] = {}
        for eid, attrs in outputs.items():
            model, i = self._index[eid]
            row = data[eid] = {}
            for attr in attrs:
                key = (model, attr)
                values = cache.get(key)
                if values is None:
                    values = cache[key] = _plain(self.outputs(model, attr))
                row[attr] = values if i is None else values[i]
        return data

    def input_array(self, inputs: dict, model: str, attr: str, default: float) -> np.ndarray:
        """One input over the entities of ``model``, connected as lists to its set entity
        (``default`` where nothing is connected)."""
        n = len(self.eids.get(model, []))
        return set_input(inputs, f"{model.lower()}_set", attr, n, default)

    # -- to implement -------------------------------------------------------------------
    def setup(self) -> None:
        """Build the pure model(s) from ``self.scenario`` and ``self.assets``."""
        raise NotImplementedError

    def advance(self, time: int, inputs: dict) -> None:
        """Advance the model over ``[time, time + step_s)`` with the given inputs."""
        raise NotImplementedError

    def outputs(self, model: str, attr: str):
        """Values of ``attr`` for all entities of ``model``, in ``self.eids[model]`` order."""
        raise NotImplementedError
