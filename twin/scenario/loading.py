"""Load a scenario YAML, apply ``--set`` overrides, validate, and explain what is wrong.

Errors are collected into :class:`ScenarioError`, whose lines read
``assets.battery[3].capacity_kwh: must be > 0, got -5``.
"""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from twin.scenario.hil import HIL_KINDS, backend_problems
from twin.scenario.reading import (
    InputProblem,
    apply_one,
    read_scenario_file,
    resolve_file_paths,
)
from twin.scenario.reading import read_yaml as read_yaml  # re-exported
from twin.scenario.schema import ASSET_KINDS, Scenario


class ScenarioError(Exception):
    """A scenario that cannot be used; ``problems`` holds ``(path, message)`` pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{p}: {m}" if p else m for p, m in problems]
        if len(lines) == 1:  # one problem, one line
            super().__init__(f"scenario {source} is invalid: {lines[0]}")
        else:
            body = "\n".join(f"  {line}" for line in lines)
            super().__init__(f"scenario {source} is invalid:\n{body}")


# ----------------------------------------------------------------------------- overrides


def apply_overrides(data: Any, overrides: list[str], source: str = "--set") -> Any:
    """Set ``a.b.c=value`` (value parsed as YAML) in the raw scenario mapping."""
    for item in overrides:
        try:
            apply_one(data, item)
        except InputProblem as exc:
            raise ScenarioError(source, [(exc.where, exc.message)]) from None
    return data


# ----------------------------------------------------------------------------- error text

_TAGS = {"list_form", "count_form", "synthetic", "csv", "rule_based", "flexmeasures"}


def _format_loc(loc: tuple) -> str:
    out = ""
    loc = tuple(p if not isinstance(p, str) or len(p) <= 60 else p[:57] + "..." for p in loc)
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _TAGS and i > 0:
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _unwrap(tp: Any) -> list[Any]:
    """Candidate concrete types behind Annotated/Union/Optional/list."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def _tagged_other(model, tag: str) -> bool:
    """Whether a union member is tagged (a Literal field) with a tag other than ``tag``."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return False
    for f in model.model_fields.values():
        if typing.get_origin(f.annotation) is typing.Literal:
            values = typing.get_args(f.annotation)
            if tag in _TAGS and any(v in _TAGS for v in values):
                return tag not in values
    return False


def _fields_at(loc: tuple) -> list[str]:
    """Field names allowed at a location inside Scenario (for 'did you mean')."""
    candidates: list[Any] = [Scenario]
    for part in loc:
        nxt: list[Any] = []
        for c in candidates:
            if part in _TAGS:
                if not _tagged_other(c, part):
                    nxt.append(c)
            elif isinstance(part, int) and typing.get_origin(c) is list:
                nxt += _unwrap(typing.get_args(c)[0])
            elif isinstance(part, str) and isinstance(c, type) and issubclass(c, BaseModel):
                if part in c.model_fields:
                    nxt += _unwrap(c.model_fields[part].annotation)
        candidates = nxt
    names: list[str] = []
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel):
            names += [n for n in c.model_fields if n not in names]
    return names


def _short(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, list | dict) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value):,} entries"
    try:
        text = repr(value)
    except RecursionError:
        return f"a {type(value).__name__} nested too deeply to show"
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: dict) -> str:
    kind, ctx, value = err["type"], err.get("ctx", {}), err.get("input")
    ops = {
        "greater_than": (">", "gt"),
        "greater_than_equal": (">=", "ge"),
        "less_than": ("<", "lt"),
        "less_than_equal": ("<=", "le"),
    }
    if kind in ops:
        op, key = ops[kind]
        return f"must be {op} {_short(ctx[key])}, got {_short(value)}"
    if kind == "extra_forbidden":
        name = err["loc"][-1]
        allowed = _fields_at(err["loc"][:-1])
        close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {_short(name)}{hint} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {_short(value)}"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags')}, got {_short(ctx.get('tag'))}"
    if kind == "value_error":
        text = " ".join(str(ctx.get("error", err["msg"])).split())
        return text if len(text) <= 300 else text[:297] + "..."
    return f"{err['msg'][0].lower()}{err['msg'][1:]}, got {_short(value)}"


def problems_from(exc: ValidationError) -> list[tuple[str, str]]:
    return [(_format_loc(e["loc"]), _message(e)) for e in exc.errors()]


# ----------------------------------------------------------------------------- resolution


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


def validate(data: Any, source: str = "scenario") -> Scenario:
    """Validate a raw mapping into a Scenario and check cross-references."""
    if not isinstance(data, dict):
        raise ScenarioError(source, [("", f"top level must be a mapping, got {_short(data)}")])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, problems_from(exc)) from None
    try:
        assets = resolve_assets(scenario)
    except ScenarioError as exc:
        raise ScenarioError(source, exc.problems) from None
    problems = _override_problems(scenario, assets)
    if scenario.market is not None and not isinstance(scenario.market.participants, str):
        from twin.scenario.participants import resolve_participants

        try:
            resolve_participants(scenario)
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def _override_problems(scenario: Scenario, assets: dict[str, list[Asset]]) -> list:
    """Flex-model overrides must name a scheduled asset or kind."""
    keys = getattr(scenario.scheduling, "flex_model", {})
    allowed = ["battery", "ev_charger"] + [a.id for k in ("battery", "ev_charger")
                                           for a in assets[k]]
    problems = []
    for key in keys:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append((f"scheduling.flex_model.{key}",
                             f"no battery or EV charger {key!r}; {hint}use a battery or "
                             "charger id, or 'battery' / 'ev_charger' for all of a kind"))
    return problems


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Read, override and validate a scenario file. Paths inside the file are relative
    to its folder; paths given in ``overrides`` are relative to the working directory."""
    path = Path(path)
    source = str(path)
    try:
        data = read_scenario_file(path)
    except InputProblem as exc:
        raise ScenarioError(source, [(exc.where, exc.message)]) from None
    resolve_file_paths(data, path.resolve().parent)
    data = apply_overrides(data, overrides or [], source)
    try:
        scenario = validate(data, source)
    except RecursionError:
        raise ScenarioError(source, [("", "nested too deeply to validate")]) from None
    check_inputs(scenario, source)
    return scenario


def check_inputs(scenario: Scenario, source: str = "scenario") -> None:
    """Read the measured inputs a scenario names, so a bad file is a scenario error."""
    if scenario.weather.source != "csv":
        return
    from twin.inputs import weather  # computed once per process: the run reuses it

    where = "weather.path"
    if not scenario.weather.path.is_file():
        raise ScenarioError(source, [(where, f"file not found: {scenario.weather.path}")])
    try:
        weather(scenario)
    except (ValueError, KeyError, TypeError, OverflowError, OSError,
            UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise ScenarioError(source, [(where, " ".join(str(exc).split())[:480])]) from None
