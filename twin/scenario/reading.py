"""The raw side of a scenario: reading its YAML file and applying ``--set`` overrides.

Everything a user can type arrives here as text; whatever is wrong with it becomes a
:class:`twin.scenario.loading.ScenarioError`-style list of ``(where, message)`` problems, never an
internal error. Paths written inside a scenario file are relative to the file's folder;
paths given with ``--set`` are relative to the working directory. No power values here,
so the sign convention (positive = consumption) does not apply.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

#: Largest list index a ``--set`` path may use (the largest count of an asset group).
MAX_INDEX = 10_000
#: Scenario fields holding a path resolved against the scenario file's folder.
FILE_RELATIVE_PATHS = (("weather", "path"),)
#: Path fields of the scenario: a relative ``--set`` value is made absolute from the cwd.
PATH_FIELDS = (("weather", "path"), ("outputs", "dir"), ("hil", "csms", "tls_cert"),
               ("hil", "csms", "tls_key"), ("hil", "openadr", "events"))


#: Largest scenario file and largest ``--set`` value read. [bytes]
MAX_FILE_BYTES = 2_000_000
MAX_VALUE_CHARS = 100_000

_SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when built with it


class YamlLoader(_SAFE):  # type: ignore[misc, valid-type]
    """Safe YAML without YAML 1.1's base-60 numbers: ``18:00`` stays the string '18:00'
    (plain YAML 1.1 reads it as the integer 1080)."""


YamlLoader.yaml_implicit_resolvers = {
    k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "0123456789":
    YamlLoader.yaml_implicit_resolvers[_first] = [
        ("tag:yaml.org,2002:str", re.compile(r"^[0-9]+(?::[0-5]?[0-9])+(?:\.[0-9]*)?$"))
    ] + yaml.SafeLoader.yaml_implicit_resolvers.get(_first, [])


def read_yaml(text: str):
    return yaml.load(text, Loader=YamlLoader)  # noqa: S506 - a SafeLoader subclass


class InputProblem(Exception):
    """One thing wrong with the raw input: ``where`` (a field path or '') and a message."""

    def __init__(self, where: str, message: str):
        super().__init__(message)
        self.where, self.message = where, message


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def yaml_problem(exc: BaseException) -> str:
    """A one-line description of why a YAML text could not be read."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to read (more than a few hundred levels)"
    if isinstance(exc, yaml.constructor.ConstructorError):
        tag = re.search(r"tag '([^']+)'", str(exc.problem or ""))
        if tag:
            name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
            return (f"unsafe or unknown YAML tag {name!r}: only plain values (numbers, "
                    "strings, booleans, null, lists, mappings) are read")
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        where = f"at line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return _one_line(f"YAML syntax error {where}{problem}")
    return _one_line(f"not a valid YAML value ({exc})")


_YAML_ERRORS = (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError)


def read_utf8_file(path: Path, max_bytes: int, kind: str) -> str:
    """The text of a UTF-8 input file of at most ``max_bytes``, or InputProblem naming
    what is wrong: unreadable, too large, not UTF-8. ``kind`` names the file in the size
    message ("a scenario file")."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputProblem("", f"{path}: {size:,} bytes; {kind} is at most "
                               f"{max_bytes:,} bytes")
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputProblem("", f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputProblem("", f"{path} is not UTF-8 text: byte "
                           f"0x{exc.object[exc.start]:02x} at offset {exc.start}; "
                           "save the file as UTF-8") from None


def read_scenario_file(path: Path) -> Any:
    """The raw mapping of a scenario file, or InputProblem naming what is wrong."""
    if not path.is_file():
        raise InputProblem("", f"file not found: {path}")
    text = read_utf8_file(path, MAX_FILE_BYTES, "a scenario file")
    try:
        data = read_yaml(text)
    except _YAML_ERRORS as exc:
        raise InputProblem("", yaml_problem(exc)) from None
    return data if data is not None else {}


#: Largest JSON input (schedule request, order book). [bytes]
MAX_JSON_BYTES = 20_000_000


def read_json_file(path: Path) -> Any:
    """A JSON input file (schedule request, order book), or InputProblem naming what is
    wrong with it: unreadable, too large, not UTF-8, not JSON, nested too deeply."""
    text = read_utf8_file(path, MAX_JSON_BYTES, "a JSON input")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputProblem("", f"{path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise InputProblem("", f"{path}: nested too deeply to read") from None


def resolve_file_paths(data: Any, folder: Path) -> None:
    """Make the file-relative path fields of a raw scenario absolute from ``folder``."""
    for keys in FILE_RELATIVE_PATHS:
        node = data
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        value = node.get(keys[-1]) if isinstance(node, dict) else None
        if isinstance(value, str) and value and not Path(value).is_absolute():
            node[keys[-1]] = str((folder / value).resolve())


# ----------------------------------------------------------------------------- overrides


def parse_path(path: str) -> list[str | int]:
    """``assets.battery.items[2].soc_initial_percent`` -> keys and list indices."""
    out: list[str | int] = []
    for part in path.replace("]", "").replace("[", ".").split("."):
        if part == "":
            continue
        if part.isascii() and part.isdigit():
            if len(part) > len(str(MAX_INDEX)) or int(part) > MAX_INDEX:
                raise InputProblem(_one_line(path, 60),
                                   f"index {_one_line(part, 20)} is too large "
                                   f"(at most {MAX_INDEX})")
            out.append(int(part))
        else:
            out.append(part)
    return out


def _discriminated() -> dict[tuple[str, ...], dict[str, type]]:
    # CLI start-up: only --set on a variant switch needs the schema (pydantic); clear and
    # schedule read their JSON files through this module without it
    from twin.scenario.schema import CsvWeather, FlexMeasuresScheduling, RuleBased, SyntheticWeather

    return {("weather", "source"): {"synthetic": SyntheticWeather, "csv": CsvWeather},
            ("scheduling", "strategy"): {"rule_based": RuleBased,
                                         "flexmeasures": FlexMeasuresScheduling}}


def _switch_variant(node: dict, keys: tuple, value: Any) -> None:
    """Setting ``weather.source`` (or ``scheduling.strategy``) to another variant drops
    the fields the new variant does not have (``mean_kc`` when switching to csv)."""
    variants = _discriminated().get(keys)
    if not variants or not isinstance(value, str) or value not in variants:
        return
    allowed = variants[value].model_fields
    for name in [k for k in node if k not in allowed]:
        del node[name]


def _step_into(node: Any, key: str | int, nxt: str | int, where: str, in_items: bool) -> Any:
    if isinstance(key, int):
        if not isinstance(node, list):
            raise InputProblem(where, f"index [{key}] is not inside a list")
        _pad(node, key, where, {} if isinstance(nxt, str) else [], in_items)
        return node[key]
    if not isinstance(node, dict):
        raise InputProblem(where, f"{key!r} is not inside a mapping")
    if key not in node or node[key] is None:
        node[key] = [] if isinstance(nxt, int) else {}
    return node[key]


def _pad(node: list, index: int, where: str, fill: Any, items: bool) -> None:
    """Allow index ``len(node)`` (a new entry) and, in an ``items`` list of per-asset
    overrides, any index (the entries before it become ``{}``, the defaults)."""
    if index > len(node) and not (items and isinstance(fill, dict)):
        raise InputProblem(where, f"index {index} is out of range (the list has "
                           f"{len(node)} entries)")
    while len(node) <= index:
        node.append({} if len(node) < index else fill)


def apply_one(data: Any, item: str) -> None:
    """Set ``a.b[2].c=value`` (value parsed as YAML) in the raw scenario mapping."""
    where, path, value = _parse_set(item)
    node = data
    for i, key in enumerate(path[:-1]):
        node = _step_into(node, key, path[i + 1], where, i > 0 and path[i - 1] == "items")
    keys = tuple(str(k) for k in path)
    if isinstance(value, str) and keys in PATH_FIELDS and value \
            and not Path(value).is_absolute():
        value = str((Path.cwd() / value).resolve())
    _set_last(node, path, keys, value, where)


def _parse_set(item: str) -> tuple[str, list, Any]:
    """``PATH=VALUE`` as the path's text (for errors), its parts and the YAML value."""
    if "=" not in item:
        raise InputProblem("--set", f"expected PATH=VALUE, got {_one_line(repr(item), 80)}")
    path_s, value_s = item.split("=", 1)
    where = _one_line(path_s.strip(), 80)
    path = parse_path(path_s.strip())
    if not path:
        raise InputProblem("--set", f"empty path in {_one_line(repr(item), 80)}")
    if len(value_s) > MAX_VALUE_CHARS:
        raise InputProblem(where, f"--set value of {len(value_s):,} characters; at most "
                           f"{MAX_VALUE_CHARS:,}")
    try:
        value = read_yaml(value_s) if value_s.strip() else ""
    except _YAML_ERRORS as exc:
        raise InputProblem(where, f"--set value {_one_line(repr(value_s), 60)}: "
                           f"{yaml_problem(exc)}") from None
    return where, path, value


def _set_last(node: Any, path: list, keys: tuple, value: Any, where: str) -> None:
    """Set the path's last part (a list index or a mapping key) in its parent ``node``."""
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(node, list):
            raise InputProblem(where, f"index [{last}] is not inside a list")
        in_items = len(path) > 1 and path[-2] == "items"
        _pad(node, last, where, value if isinstance(value, dict) else None, in_items)
        node[last] = value
    elif isinstance(node, dict):
        if keys in _discriminated() and node.get(last) != value:
            _switch_variant(node, keys, value)
        node[last] = value
    else:
        raise InputProblem(where, f"{last!r} is not inside a mapping")
