"""Load a scenario YAML, apply ``--set`` overrides, validate, and explain what is wrong.

Errors are collected into :class:`ScenarioError`, whose lines read
``assets.battery[3].capacity_kwh: must be > 0, got -5``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agents.scheduling.live_request import check_overrides
from twin.scenario.assets import Asset, resolve_assets
from twin.scenario.errors import ScenarioError, problems_from, short
from twin.scenario.participants import resolve_participants
from twin.scenario.reading import (
    InputProblem,
    apply_one,
    read_scenario_file,
    resolve_file_paths,
)
from twin.scenario.reading import read_yaml as read_yaml  # re-exported
from twin.scenario.schema import Scenario
from twin.scenario.timeline import read_csv_weather


def apply_overrides(data: Any, overrides: list[str], source: str = "--set") -> Any:
    """Set ``a.b.c=value`` (value parsed as YAML) in the raw scenario mapping."""
    for item in overrides:
        try:
            apply_one(data, item)
        except InputProblem as exc:
            raise ScenarioError(source, [(exc.where, exc.message)]) from None
    return data


def validate(data: Any, source: str = "scenario") -> Scenario:
    """Validate a raw mapping into a Scenario and check cross-references."""
    if not isinstance(data, dict):
        raise ScenarioError(source, [("", f"top level must be a mapping, got {short(data)}")])
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
        try:
            resolve_participants(scenario)
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def _override_problems(scenario: Scenario, assets: dict[str, list[Asset]]) -> list:
    """Flex-model overrides must name a scheduled asset or kind, and every override must
    read as FlexMeasures reads it."""
    return _override_targets(scenario, assets) + _override_forms(scenario)


def _override_targets(scenario: Scenario, assets: dict[str, list[Asset]]) -> list:
    """Each flex-model override names a battery or EV charger id, or one of those kinds."""
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


def _override_forms(scenario: Scenario) -> list:
    """The flex-model and flex-context overrides in FlexMeasures' fields and forms; the
    problem's path is the field's, e.g. ``scheduling.flex_model.battery.soc-max``."""
    if scenario.scheduling.strategy != "flexmeasures":
        return []
    try:
        check_overrides(scenario.scheduling.flex_model, scenario.scheduling.flex_context)
    except ValueError as exc:
        where, _, message = str(exc).partition(": ")
        return [(f"scheduling.{where}", message)]
    return []


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
    where = "weather.path"
    if not scenario.weather.path.is_file():
        raise ScenarioError(source, [(where, f"file not found: {scenario.weather.path}")])
    try:
        read_csv_weather(scenario)
    except (ValueError, KeyError, TypeError, OverflowError, OSError,
            UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise ScenarioError(source, [(where, " ".join(str(exc).split())[:480])]) from None
