"""What a scenario resolves to: one :class:`Asset` per device, with its id and feeder bus,
and the model parameters of a device from its spec."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from twin.scenario.errors import ScenarioError
from twin.scenario.hil import HIL_KINDS, backend_problems
from twin.scenario.schema import Scenario
from twin.scenario.specs import ASSET_KINDS


@dataclass(frozen=True)
class Asset:
    """One resolved asset: kind, id, feeder bus (None for EVs) and its full spec."""

    kind: str
    id: str
    bus: str | None
    spec: Any


def resolve_assets(scenario: Scenario) -> dict[str, list[Asset]]:
    """Every asset with an id and a bus; raises ScenarioError on unknown buses or ids."""
    bus_names = scenario.grid.lv_bus_names()
    spread = bus_names[1:] or bus_names
    out: dict[str, list[Asset]] = {}
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for kind in ASSET_KINDS:
        specs = scenario.assets.resolved(kind)
        group = getattr(scenario.assets, kind)
        where = f"assets.{kind}" + ("" if isinstance(group, list) else ".items")
        assets = []
        for i, spec in enumerate(specs):
            aid = spec.id or f"{kind}_{i:02d}"
            if aid in seen:
                problems.append((f"{where}[{i}].id", f"duplicate id {aid!r} (also {seen[aid]})"))
            seen[aid] = f"{where}[{i}]"
            bus = getattr(spec, "bus", None)
            if kind != "ev":
                if bus is None:
                    bus = spread[(i * len(spread)) // max(len(specs), 1)]
                elif bus not in bus_names:
                    close = difflib.get_close_matches(bus, bus_names, n=1, cutoff=0.5)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    problems.append((
                        f"{where}[{i}].bus",
                        f"no bus {bus!r} on this feeder; {hint}buses are lv_busbar and "
                        f"f1_b1 .. f{scenario.grid.n_feeders}_b{scenario.grid.buses_per_feeder}",
                    ))
            if kind != "ev":
                problems += backend_problems(kind, f"{where}[{i}]", spec.backend)
            assets.append(Asset(kind, aid, bus, spec))
        out[kind] = assets
    if problems:
        raise ScenarioError("scenario", problems)
    return out


def hil_assets(assets: dict[str, list[Asset]]) -> list[Asset]:
    """The assets behind a protocol (backend other than ``sim``), kind by kind in
    ``HIL_KINDS`` order: the order of the HIL bridges, their series and their report."""
    return [a for kind in HIL_KINDS for a in assets[kind] if a.spec.backend.type != "sim"]


def hil_positions(assets: dict[str, list[Asset]]) -> list[tuple[str, int]]:
    """Each HIL asset's ``(kind, index among the assets of its kind)``, in
    :func:`hil_assets` order: where its measured values replace the simulated ones."""
    index = {a.id: (kind, i) for kind, items in assets.items() for i, a in enumerate(items)}
    return [index[a.id] for a in hil_assets(assets)]


def params_from(cls, spec):
    """A model's parameter dataclass from a scenario spec (fields the model knows)."""
    fields = cls.__dataclass_fields__
    return cls(**{k: v for k, v in spec.model_dump().items() if k in fields})
