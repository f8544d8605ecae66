"""A seeded mutation generator for protocol payloads (the tests' own, no fuzzing library).

:class:`Mutator` turns a valid JSON-like message into a broken one, as text: a value of the
wrong type, a huge number, NaN / Infinity, odd unicode, deep nesting, a missing, extra or
renamed field (structural mutations), or byte flips, truncation and inserted bytes in the
serialised text (byte mutations). Every mutation is a function of the seed, so a failing
case is reproduced by its index; :meth:`Mutator.describe` says what was done.
"""

from __future__ import annotations

import copy
import json
import random

WRONG_TYPES = (None, True, False, "", "x", 0, -1, 1.5, [], {}, [1, 2], {"a": 1})
HUGE = (10**30, -(10**30), 2**63, -(2**63) - 1, 1e308, -1e308, 2**31, 10**18)
STRINGS = ("\u0000", "é", "\U0001F600" * 50, "\ud800", "\u202e", "' OR 1=1 --",
           "a" * 5000, " ", "\n", "%s%s%n", "2026-13-45T99:99:99Z", "0001-01-01T00:00:00+14:00",
           "9999-12-31T23:59:59-14:00", "2026-06-01T12:00:00")
# placeholders replaced in the text after json.dumps (which cannot write them itself)
_TOKENS = {"__NAN__": "NaN", "__INF__": "Infinity", "__NINF__": "-Infinity",
           "__BIGINT__": "9" * 5000, "__INT400__": "9" * 400, "__BIGEXP__": "1e99999", "__DEEPL__": "[" * 3000 + "]" * 3000,
           "__DEEPO__": '{"a":' * 3000 + "1" + "}" * 3000, "__NEST40__": "[" * 40 + "]" * 40,
           "__DEEP500__": "[" * 500 + "]" * 500}


class Mutator:
    """Seeded mutations of JSON-like messages; ``Mutator(seed).text(obj)`` is one."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.last = ""

    def describe(self) -> str:
        return self.last

    # ------------------------------------------------------------------ structure
    def _paths(self, obj, path=()):
        yield path
        if isinstance(obj, dict):
            for k, v in obj.items():
                yield from self._paths(v, (*path, k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                yield from self._paths(v, (*path, i))

    def _replacement(self):
        kind = self.rng.choice(("type", "huge", "nonfinite", "string", "deep"))
        if kind == "type":
            return copy.deepcopy(self.rng.choice(WRONG_TYPES))
        if kind == "huge":
            return self.rng.choice((*HUGE, "__BIGINT__", "__INT400__", "__BIGEXP__"))
        if kind == "nonfinite":
            return self.rng.choice(("__NAN__", "__INF__", "__NINF__"))
        if kind == "string":
            return self.rng.choice(STRINGS)
        return self.rng.choice(("__DEEPL__", "__DEEPO__", "__NEST40__", "__DEEP500__"))

    def structural(self, obj):
        """A deep copy of ``obj`` with one node replaced, deleted, added to or renamed."""
        obj = copy.deepcopy(obj)
        paths = list(self._paths(obj))
        path = self.rng.choice(paths)
        op = self.rng.choice(("replace", "replace", "delete", "extra", "rename"))
        if not path:
            op = "replace" if op in ("delete", "rename") else op
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        if op == "replace":
            return self._replace(obj, parent, path)
        if op == "delete":
            self.last = f"delete {list(path)}"
            del parent[path[-1]]
        elif op == "extra":
            return self._extra(obj, path)
        else:
            if isinstance(parent, dict):
                value = parent.pop(path[-1])
                parent[str(path[-1]).upper() + "_"] = value
            self.last = f"rename {list(path)}"
        return obj

    def _replace(self, obj, parent, path):
        """``obj`` with the node at ``path`` (a key of ``parent``) replaced."""
        new = self._replacement()
        self.last = f"replace {list(path)} with {str(new)[:40]!r}"
        if not path:
            return new
        parent[path[-1]] = new
        return obj

    def _extra(self, obj, path):
        """``obj`` with an extra key or item in the node at ``path``; a leaf there: half
        the time another structural mutation, else ``obj`` unchanged."""
        node = obj
        for key in path:
            node = node[key]
        if isinstance(node, dict):
            node[self.rng.choice(("extra", "é", "", "__proto__"))] = self._replacement()
        elif isinstance(node, list):
            node.append(self._replacement())
        else:
            return self.structural(obj) if self.rng.random() < 0.5 else obj
        self.last = f"extra in {list(path)}"
        return obj

    # ------------------------------------------------------------------ bytes
    def bytewise(self, text: str) -> bytes:
        """The UTF-8 of ``text`` with a few bytes flipped, cut, inserted or repeated."""
        data = bytearray(text.encode("utf-8", "surrogatepass"))
        op = self.rng.choice(("flip", "truncate", "insert", "repeat"))
        if op == "flip" and data:
            for _ in range(self.rng.randint(1, 4)):
                i = self.rng.randrange(len(data))
                data[i] ^= 1 << self.rng.randrange(8)
        elif op == "truncate":
            data = data[:self.rng.randrange(len(data) + 1)]
        elif op == "insert":
            i = self.rng.randrange(len(data) + 1)
            data[i:i] = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 8)))
        else:
            i = self.rng.randrange(len(data) + 1)
            data[i:i] = data[i:i + self.rng.randint(1, 20)]
        self.last = f"bytes: {op}"
        return bytes(data)

    # ------------------------------------------------------------------ one message
    def text(self, obj) -> str | bytes:
        """One mutation of ``obj``: JSON text (structural) or raw bytes (byte-level)."""
        if self.rng.random() < 0.25:
            return self.bytewise(dump(obj))
        return dump(self.structural(obj))


def dump(obj) -> str:
    text = json.dumps(obj, ensure_ascii=True)
    for token, raw in _TOKENS.items():
        text = text.replace(f'"{token}"', raw)
    return text
