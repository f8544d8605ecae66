"""Seeded mutations of the twin's inputs, and the check every mutated input must pass.

A mutation is one of: a byte flip, a deleted span, a value swapped for one of another
type or an extreme (huge numbers, negative, NaN, unicode, deep nesting, long strings),
a deleted key. ``run_cli`` calls the command line's ``main()`` in process and
``check_outcome`` asserts what bad input must give: exit 0 or 2, never 1, no traceback,
an ``error:`` first line when 2, short lines, and a bounded time.
"""

from __future__ import annotations

import contextlib
import copy
import io
import random
import time

#: Values swapped in for a field: wrong types, extremes, unicode, nesting.
NASTY = [
    None, True, -1, 0, -1e308, 1e308, 1e22, 2**70, -(2**70), float("nan"), "", " ",
    "x" * 5000, "é€😀", "\x00", "NaN", "inf", "-inf", "1e999", [], {}, [[]], {"a": {}},
    [1, 2, 3], "PT0S", "P99999999999D", "9" * 400, "2026-02-30T25:61:00", "kW", "-5 kW",
    "1e22 kWh", "50 %", "12:00", "null",
]
NASTY_YAML = [
    "*", "*x", '"unterminated', "@foo", "%YAML 1.1", "{", "[", "!!int abc",
    "!!python/object:os.system", "!!binary AAAA", "!!float x", "&a [*a]", "? a",
    "1e22", "-1e400", "9" * 5000, "[" * 3000, "{a: " * 500, "é", "'\\ud800'", "~",
    "2026-13-45", "0x1F", "0o17", ".inf", ".nan", "-.inf", "[1, 2", "a: b: c",
]
MAX_SECONDS = 10.0


def _deep(depth: int):
    out: object = 1
    for _ in range(depth):
        out = [out]
    return out


def nasty(rng: random.Random):
    roll = rng.random()
    if roll < 0.08:
        return _deep(rng.choice([50, 500, 3000]))
    if roll < 0.12:
        return [{}] * rng.choice([10, 20_000])
    return rng.choice(NASTY)


def paths(node, prefix=()):
    """Every (path, value) of a JSON-like tree."""
    yield prefix, node
    if len(prefix) > 12:  # not into the deep values a mutation put in
        return
    items = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield from paths(v, (*prefix, k))


def _set(node, path, value):
    for k in path[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()


def mutate_tree(tree, rng: random.Random):
    """A deep copy of ``tree`` with one to three fields swapped or deleted."""
    out = copy.deepcopy(tree)
    for _ in range(rng.randint(1, 3)):
        spots = [p for p, _ in paths(out) if p]
        if not spots:
            return nasty(rng)
        where = rng.choice(spots)
        _set(out, where, _DELETE if rng.random() < 0.2 else nasty(rng))
    return out


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """Byte flips, a deleted span, inserted junk or deep nesting in a text file."""
    buf = bytearray(data)
    kind = rng.choice(["flip", "delete", "insert", "nest", "latin1"])
    if kind == "flip":
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == "delete":
        a = rng.randrange(len(buf))
        del buf[a:a + rng.randint(1, 80)]
    elif kind == "insert":
        junk = rng.choice([b": :", b"- [", b"{", b"\t", b"&a *a", b"!!str", b"\xff\xfe",
                           "é😀".encode(), b"\x00", b"9" * 400, b"'"])
        buf[rng.randrange(len(buf)):0] = junk
    elif kind == "nest":
        depth = rng.choice([100, 3000])
        buf += b"\ndescription: " + b"[" * depth + b"]" * depth + b"\n"
    else:
        buf += "\n# caf\u00e9\n".encode("latin-1")
    return bytes(buf)


def run_cli(argv: list[str]) -> tuple[int, str, str, float]:
    """``main(argv)`` in process: exit code, stdout, stderr, seconds."""
    from twin.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), time.perf_counter() - t0


def check_outcome(label: str, code: int, stderr: str, seconds: float) -> None:
    """Exit 0 or 2, never an internal error; a 2 names the problem on short lines."""
    assert code in (0, 2), f"{label}: exit {code}: {stderr[:500]}"
    assert "Traceback" not in stderr, f"{label}: {stderr[:500]}"
    assert "CARIFLEX_DEBUG" not in stderr, f"{label}: {stderr[:500]}"
    assert seconds < MAX_SECONDS, f"{label}: took {seconds:.1f} s"
    if code == 2:
        lines = stderr.splitlines()
        assert lines and lines[0].startswith("error: "), f"{label}: {stderr[:500]}"
        assert all(len(line) <= 500 for line in lines), f"{label}: a line of {max(map(len, lines))}"
