"""Pure encode / decode of SunSpec points to and from Modbus registers, scale factors
and the one conversion between SunSpec's sign of active power and the twin's.

Multi-register values are big-endian, high word first. A value's engineering figure is
``raw * 10**sf``; not-implemented raw values (see :mod:`hil.sunspec.models`) decode to None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from hil.sunspec.points import NOT_IMPLEMENTED, SIGNED, Model, Point

# ----------------------------------------------------------------------------- signs


def twin_p_kw(w: float) -> float:
    """Twin ``p_kw`` (positive = consumption / charging) from SunSpec ``W`` (positive =
    injection). [kW]"""
    return -w / 1000.0 + 0.0


def sunspec_w(p_kw: float) -> float:
    """SunSpec ``W`` / ``WSet`` (positive = injection) from the twin's ``p_kw``. [W]"""
    return -p_kw * 1000.0 + 0.0


# ----------------------------------------------------------------------------- raw values


def regs_to_int(regs: Sequence[int], signed: bool) -> int:
    """Big-endian registers (high word first) to an integer."""
    value = 0
    for r in regs:
        value = (value << 16) | (r & 0xFFFF)
    if signed and value >= 1 << (16 * len(regs) - 1):
        value -= 1 << (16 * len(regs))
    return value


def int_to_regs(value: int, size: int) -> list[int]:
    """An integer (negative in two's complement) to ``size`` big-endian registers."""
    value &= (1 << (16 * size)) - 1
    return [(value >> (16 * (size - 1 - i))) & 0xFFFF for i in range(size)]


def decode_raw(point: Point, regs: Sequence[int]) -> int | str | None:
    """The raw integer (or string) of a point, None where not implemented."""
    if len(regs) != point.size:
        raise ValueError(f"point {point.name}: needs {point.size} registers, got {len(regs)}")
    if point.type == "string":
        data = b"".join(r.to_bytes(2, "big") for r in regs)
        text = data.split(b"\0", 1)[0].decode("utf-8", errors="replace")
        return text or None
    if point.type == "pad":
        return None
    unsigned = regs_to_int(regs, signed=False)
    if unsigned == NOT_IMPLEMENTED[point.type]:
        return None
    return regs_to_int(regs, signed=point.type in SIGNED)


def encode_raw(point: Point, raw: int | str | None) -> list[int]:
    """Registers of a raw integer (or string); None gives the not-implemented value."""
    if point.type == "string":
        data = (raw or "").encode("utf-8")
        if len(data) > 2 * point.size:
            raise ValueError(f"point {point.name}: {raw!r} is longer than "
                             f"{2 * point.size} bytes")
        data = data.ljust(2 * point.size, b"\0")
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
    if raw is None or point.type == "pad":
        return int_to_regs(NOT_IMPLEMENTED[point.type], point.size)
    lo, hi = point.raw_range()
    if not lo <= raw <= hi:
        raise ValueError(f"point {point.name}: raw value {raw} is outside {point.type} "
                         f"range [{lo}, {hi}]")
    return int_to_regs(int(raw), point.size)


def scale(raw: int | str | None, sf: int | None) -> float | int | str | None:
    """Engineering value ``raw * 10**sf`` (raw when the point has no scale factor)."""
    if raw is None or isinstance(raw, str):
        return raw
    if sf is None:
        return raw
    return raw / 10.0 ** -sf if sf < 0 else raw * 10.0 ** sf


def unscale(point: Point, value: float | None, sf: int | None) -> int | None:
    """Raw integer of an engineering value, rounded to the point's resolution; ValueError
    naming the point, the value and the allowed range when it does not fit."""
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"point {point.name}: value {value} is not a finite number")
    factor = 10.0 ** (sf or 0)
    raw = round(value / factor)
    lo, hi = point.raw_range()
    if not lo <= raw <= hi:
        raise ValueError(f"point {point.name}: {value:g} {point.units or ''} is outside "
                         f"[{lo * factor:g}, {hi * factor:g}] (type {point.type}, sf {sf})")
    return raw


def decode_model(mdef: Model, regs: Sequence[int]) -> dict[str, float | int | str | None]:
    """Every point of a model from its registers (from the ID register, 2 + L of them),
    scaled; None where not implemented or where its scale factor is not implemented."""
    if len(regs) < 2 + mdef.length:
        raise ValueError(f"model {mdef.id}: needs {2 + mdef.length} registers, got {len(regs)}")
    raws = {p.name: decode_raw(p, regs[p.offset:p.offset + p.size]) for p in mdef.points}
    out: dict[str, float | int | str | None] = {}
    for p in mdef.points:
        if p.sf is None:
            out[p.name] = raws[p.name]
        else:
            sf = raws.get(p.sf)
            out[p.name] = None if sf is None else scale(raws[p.name], sf)
    return out


def encode_points(mdef: Model, values: Mapping[str, float | int | str | None],
                  sfs: Mapping[str, int]) -> dict[int, list[int]]:
    """Registers of some points, keyed by offset, with the given scale factors.

    ``values`` are engineering values (None: not implemented); ``sfs`` maps the
    model's scale-factor point names to their values.
    """
    out: dict[int, list[int]] = {}
    for name, value in values.items():
        p = mdef.point(name)
        if p.type == "string" or value is None:
            out[p.offset] = encode_raw(p, value)
            continue
        if p.sf is not None and p.sf not in sfs:
            raise ValueError(f"point {name} of model {mdef.id}: scale factor {p.sf} unknown")
        sf = sfs[p.sf] if p.sf is not None else None
        out[p.offset] = encode_raw(p, unscale(p, value, sf))
    return out
