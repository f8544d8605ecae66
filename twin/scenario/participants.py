"""Market participants: who owns which devices behind which meter, and trades how.

``market.participants: auto`` groups the resolved assets by bus. Each household load
is a participant; the PV systems, batteries and EV chargers on its bus are shared
round-robin among the bus's households, in asset order. A bus with devices but no
load gets one participant for all of them. Types: a household is ``commercial`` when
its load has the commercial profile, ``multi_family`` from 6,000 kWh a year, else
``single_family``; a participant without load is ``commercial`` when it has chargers,
``storage`` with batteries only, else ``producer``.

The strategy mix is dealt out by the scenario seed: participants in a seeded random
order get the strategies in proportion to their shares (largest remainders).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import numpy as np

from agents.market.areas import ROOT, AreaTree, GridFee, feeder_tree
from twin.scenario.assets import Asset, resolve_assets
from twin.scenario.errors import ScenarioError
from twin.scenario.schema import Scenario

MULTI_FAMILY_KWH = 6000.0
DEVICE_KINDS = ("load", "pv", "battery", "ev_charger")


@dataclass
class Participant:
    id: str
    type: str
    bus: str
    strategy: str
    assets: dict[str, list[Asset]] = field(default_factory=dict)

    def ids(self, kind: str) -> list[str]:
        return [a.id for a in self.assets.get(kind, [])]


def _type_of(owned: dict[str, list[Asset]]) -> str:
    loads = owned.get("load", [])
    if loads:
        if any(a.spec.profile == "commercial" for a in loads):
            return "commercial"
        return "multi_family" if sum(a.spec.annual_kwh for a in loads) >= MULTI_FAMILY_KWH \
            else "single_family"
    if owned.get("ev_charger"):
        return "commercial"
    return "storage" if owned.get("battery") and not owned.get("pv") else "producer"


def _auto(assets: dict[str, list[Asset]]) -> list[tuple[str, str, dict]]:
    buses: dict[str, dict[str, list[Asset]]] = {}
    for kind in DEVICE_KINDS:
        for a in assets[kind]:
            buses.setdefault(a.bus, {}).setdefault(kind, []).append(a)
    out = []
    for bus, kinds in buses.items():
        loads = kinds.get("load", [])
        groups: list[dict[str, list[Asset]]] = [{"load": [a]} for a in loads] or [{}]
        for kind in ("pv", "battery", "ev_charger"):
            for i, a in enumerate(kinds.get(kind, [])):
                groups[i % len(groups)].setdefault(kind, []).append(a)
        out += [(bus, _type_of(g), g) for g in groups]
    width = len(str(len(out)))
    return [(f"p{i + 1:0{width}d}", bus, (t, g)) for i, (bus, t, g) in enumerate(out)]


def _explicit(scenario: Scenario, assets: dict[str, list[Asset]]):
    by_id = {a.id: a for kind in DEVICE_KINDS for a in assets[kind]}
    owner: dict[str, str] = {}
    problems, out = [], []
    for i, spec in enumerate(scenario.market.participants):
        where = f"market.participants[{i}]"
        if spec.id == ROOT or re.fullmatch(r"f\d+", spec.id):
            problems.append((f"{where}.id", f"{spec.id!r} is the name of a market area (mv, "
                             "f1, f2, ...); choose another id"))
        owned = _owned(spec, where, by_id, owner, problems)
        buses = sorted({a.bus for g in owned.values() for a in g})
        if len(buses) > 1:
            problems.append((f"{where}.assets", f"one meter is on one bus; these assets are "
                             f"on {', '.join(buses)}"))
        out.append((spec.id, buses[0] if buses else "", (spec.type, owned), spec.strategy))
    ids = [p[0] for p in out]
    for pid in {p for p in ids if ids.count(p) > 1}:
        problems.append(("market.participants", f"duplicate participant id {pid!r}"))
    problems += _unowned(assets, owner)
    return out, problems


def _owned(spec, where: str, by_id: dict[str, Asset], owner: dict[str, str],
           problems: list) -> dict[str, list[Asset]]:
    """The assets behind one participant's meter, by kind; records each asset's owner and
    appends the problems (unknown ids, assets behind two meters)."""
    owned: dict[str, list[Asset]] = {}
    for j, aid in enumerate(spec.assets):
        a = by_id.get(aid)
        if a is None:
            close = difflib.get_close_matches(aid, list(by_id), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append((f"{where}.assets[{j}]",
                             f"no pv, battery, ev_charger or load {aid!r}{hint}"))
            continue
        if aid in owner:
            problems.append((f"{where}.assets[{j}]", f"{aid!r} is already behind the "
                             f"meter of {owner[aid]!r}"))
        owner[aid] = spec.id
        owned.setdefault(a.kind, []).append(a)
    return owned


def _unowned(assets: dict[str, list[Asset]], owner: dict[str, str]) -> list:
    """Every battery and charger needs a participant to drive it."""
    return [("market.participants", f"{kind} {a.id!r} is behind no participant's meter: "
             "every battery and charger needs an owner to drive it")
            for kind in ("battery", "ev_charger") for a in assets[kind] if a.id not in owner]


def resolve_participants(scenario: Scenario) -> list[Participant]:
    """The market's participants (see the module docstring); ScenarioError on bad lists."""
    market = scenario.market
    assets = resolve_assets(scenario)
    if market.participants == "auto":
        rows = [(pid, bus, tg, None) for pid, bus, tg in _auto(assets)]
    else:
        rows, problems = _explicit(scenario, assets)
        if problems:
            raise ScenarioError("scenario", problems)
    fixed = [r[3] for r in rows]
    free = [i for i, s in enumerate(fixed) if s is None]
    shares = np.array([s.share for s in market.strategies], dtype=float)
    exact = shares / shares.sum() * len(free)
    counts = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - counts), kind="stable")[: len(free) - counts.sum()]:
        counts[k] += 1
    deck = [s.strategy for s, n in zip(market.strategies, counts, strict=True)
            for _ in range(n)]
    order = np.random.default_rng([scenario.seed, 7]).permutation(len(free))
    for slot, idx in zip(order, free, strict=True):
        fixed[idx] = deck[slot]
    return [Participant(pid, t, bus, strat, owned)
            for (pid, bus, (t, owned), _), strat in zip(rows, fixed, strict=True)]


def market_tree(scenario: Scenario, participants: list[Participant]) -> AreaTree:
    """The market areas of the scenario's feeder, one house market per participant."""
    g = scenario.market.grid_fees
    fees = {level: GridFee(f.constant_ct_per_kwh, f.percent)
            for level, f in (("house", g.house), ("lv_feeder", g.lv_feeder), ("mv", g.mv))}
    return feeder_tree({p.id: p.bus for p in participants}, fees)
