"""SunSpec points and models as data types, and the builder of a model from its point
list (the definitions themselves: :mod:`hil.sunspec.models`; encode/decode:
:mod:`hil.sunspec.codec`).

Sizes are in 16-bit registers; a point's offset counts from its model's ``ID``
register (offset 0; ``L`` is offset 1, the first point offset 2).

Not-implemented values (as in pySunSpec2 ``sunspec2/suns.py``): int16 0x8000,
uint16 / enum16 / bitfield16 0xFFFF, acc16 / acc32 / acc64 0, int32 0x80000000,
uint32 / enum32 / bitfield32 0xFFFFFFFF, int64 0x8000000000000000, uint64
0xFFFFFFFFFFFFFFFF, sunssf 0x8000, string all zero, pad 0. They decode to None.
"""

from __future__ import annotations

from dataclasses import dataclass

SIZES = {"int16": 1, "uint16": 1, "acc16": 1, "enum16": 1, "bitfield16": 1, "sunssf": 1,
         "pad": 1, "int32": 2, "uint32": 2, "acc32": 2, "enum32": 2, "bitfield32": 2,
         "int64": 4, "uint64": 4, "acc64": 4}
NOT_IMPLEMENTED = {"int16": 0x8000, "uint16": 0xFFFF, "acc16": 0, "enum16": 0xFFFF,
                   "bitfield16": 0xFFFF, "sunssf": 0x8000, "pad": 0, "int32": 0x80000000,
                   "uint32": 0xFFFFFFFF, "acc32": 0, "enum32": 0xFFFFFFFF,
                   "bitfield32": 0xFFFFFFFF, "int64": 0x8000000000000000,
                   "uint64": 0xFFFFFFFFFFFFFFFF, "acc64": 0}
SIGNED = {"int16", "int32", "int64", "sunssf"}
SF_RANGE = (-10, 10)  # what a sunssf may hold


@dataclass(frozen=True)
class Point:
    """One SunSpec point: name, type, size [registers], offset from the model's ID
    register, scale-factor point name, access (``R`` / ``RW``), units and, for enums and
    bitfields the twin validates, the allowed values / bit positions."""

    name: str
    type: str
    size: int
    offset: int
    sf: str | None = None
    access: str = "R"
    units: str | None = None
    symbols: tuple[int, ...] | None = None

    @property
    def writable(self) -> bool:
        return self.access == "RW"

    def raw_range(self) -> tuple[int, int]:
        """Smallest and largest raw integer a value may take (sentinel excluded)."""
        bits = 16 * self.size
        if self.type in SIGNED:
            lo, hi = -(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1
            return (SF_RANGE if self.type == "sunssf" else (lo, hi))
        if self.type.startswith("acc"):
            return 0, (1 << bits) - 1
        return 0, (1 << bits) - 2


@dataclass(frozen=True)
class Model:
    """One SunSpec model: id, name and points; ``length`` is L (registers after ID, L)."""

    id: int
    name: str
    points: tuple[Point, ...]

    @property
    def length(self) -> int:
        return sum(p.size for p in self.points)

    def point(self, name: str) -> Point:
        for p in self.points:
            if p.name == name:
                return p
        raise ValueError(f"model {self.id} ({self.name}) has no point {name!r}; "
                         f"points are {', '.join(p.name for p in self.points)}")

    def names(self) -> list[str]:
        return [p.name for p in self.points]


def model_from_lines(model_id: int, name: str, text: str) -> Model:
    """Build a model from lines ``Name type [n:size] [sf:SF] [rw] [u:units] [s:0,1]``."""
    points, offset = [], 2
    for line in text.strip().splitlines():
        if not line.strip():
            continue
        name_, type_, *opts = line.split()
        kw: dict = {}
        for opt in opts:
            if opt == "rw":
                kw["access"] = "RW"
            else:
                key, val = opt.split(":", 1)
                if key == "n":
                    kw["size"] = int(val)
                elif key == "sf":
                    kw["sf"] = val
                elif key == "u":
                    kw["units"] = val
                elif key == "s":
                    kw["symbols"] = tuple(int(v) for v in val.split(","))
        size = kw.pop("size", SIZES.get(type_))
        points.append(Point(name_, type_, size, offset, **kw))
        offset += size
    return Model(model_id, name, tuple(points))
