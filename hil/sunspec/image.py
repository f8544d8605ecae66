"""A SunSpec register map held in memory: 'SunS', a chain of models, the end model.

Pure data structure (no I/O): the emulator serves it over Modbus, tests and the client
can build and decode one. Addresses are Modbus PDU (protocol, 0-based) addresses: the
SunSpec base register "40001" of the documentation is PDU address 40000, which is what
``read_holding_registers(40000, count=2)`` sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hil.sunspec.codec import decode_model, decode_raw, encode_points, encode_raw, scale
from hil.sunspec.models import END_MODEL_ID, SUNS_MARKER
from hil.sunspec.points import Model, Point

BASE_ADDRESS = 40000


class RegisterImage:
    """Registers of one SunSpec device.

    Parameters
    ----------
    models : sequence of Model
        Models in chain order; common model 1 first.
    base : int
        PDU address of the 'SunS' marker.

    Attributes
    ----------
    regs : list of int
        Every register from ``base`` to the end model's length register.
    starts : dict
        Model id -> PDU address of its ``ID`` register.
    """

    def __init__(self, models: Sequence[Model], base: int = BASE_ADDRESS):
        self.base = base
        self.models = {m.id: m for m in models}
        self.starts: dict[int, int] = {}
        self.sfs: dict[int, dict[str, int]] = {m.id: {} for m in models}
        regs = list(SUNS_MARKER)
        for m in models:
            self.starts[m.id] = base + len(regs)
            body = [0] * m.length
            for p in m.points:
                body[p.offset - 2:p.offset - 2 + p.size] = encode_raw(p, None)
            regs += [m.id, m.length, *body]
        regs += [END_MODEL_ID, 0]
        self.regs = regs
        self._owner: list[tuple[Model, Point] | None] = [None] * len(regs)
        for m in models:
            for p in m.points:
                first = self.starts[m.id] + p.offset - base
                for i in range(p.size):
                    self._owner[first + i] = (m, p)

    def __len__(self) -> int:
        return len(self.regs)

    def set_sfs(self, model_id: int, sfs: Mapping[str, int]) -> None:
        """Write scale factors (their own points) and remember them for :meth:`set`."""
        self.sfs[model_id].update(sfs)
        self.set(model_id, dict(sfs))

    def set(self, model_id: int, values: Mapping[str, float | int | str | None]) -> None:
        """Write engineering values (None: not implemented) with the model's scale factors."""
        m = self.models[model_id]
        start = self.starts[model_id] - self.base
        for offset, words in encode_points(m, values, self.sfs[model_id]).items():
            self.regs[start + offset:start + offset + len(words)] = words

    def get(self, model_id: int, name: str) -> float | int | str | None:
        """One point's engineering value (None where not implemented)."""
        m = self.models[model_id]
        p = m.point(name)
        raw = decode_raw(p, self.read(self.starts[model_id] + p.offset, p.size))
        if p.sf is None:
            return raw
        sf = decode_raw(m.point(p.sf), self.read(self.starts[model_id] + m.point(p.sf).offset, 1))
        return None if sf is None else scale(raw, sf)

    def decode(self, model_id: int) -> dict:
        m = self.models[model_id]
        return decode_model(m, self.read(self.starts[model_id], 2 + m.length))

    def read(self, address: int, count: int) -> list[int]:
        i = address - self.base
        if i < 0 or i + count > len(self.regs):
            raise IndexError(f"registers {address}..{address + count - 1} are outside "
                             f"{self.base}..{self.base + len(self.regs) - 1}")
        return self.regs[i:i + count]

    def points_at(self, address: int, count: int) -> list[tuple[Model, Point] | None]:
        """The (model, point) owning each register of a range, in order, without repeats;
        None for a register that belongs to no point (marker, ID, L, end model)."""
        out: list[tuple[Model, Point] | None] = []
        for i in range(address - self.base, address - self.base + count):
            owner = self._owner[i] if 0 <= i < len(self._owner) else None
            if owner is None or not out or out[-1] is None or out[-1][1] is not owner[1]:
                out.append(owner)
        return out
