"""Scenario errors that name the field: :class:`ScenarioError` and pydantic's errors as
``(path, message)`` pairs, e.g. ``assets.battery[3].capacity_kwh: must be > 0, got -5``."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from twin.scenario.schema import Scenario


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


def short(value: Any) -> str:
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
        return f"must be {op} {short(ctx[key])}, got {short(value)}"
    if kind == "extra_forbidden":
        name = err["loc"][-1]
        allowed = _fields_at(err["loc"][:-1])
        close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {short(name)}{hint} (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, got {short(value)}"
    if kind == "union_tag_invalid":
        return f"must be one of {ctx.get('expected_tags')}, got {short(ctx.get('tag'))}"
    if kind == "value_error":
        text = " ".join(str(ctx.get("error", err["msg"])).split())
        return text if len(text) <= 300 else text[:297] + "..."
    return f"{err['msg'][0].lower()}{err['msg'][1:]}, got {short(value)}"


def problems_from(exc: ValidationError) -> list[tuple[str, str]]:
    return [(_format_loc(e["loc"]), _message(e)) for e in exc.errors()]
