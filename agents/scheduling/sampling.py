"""Variable quantities (one value, a time series or a sensor) sampled on a schedule's steps.

A step is the interval ``[start + j res, start + (j+1) res)``; its tick is its end, where
SoC constraints apply. Values keep their units (kW, kWh, EUR/kWh ...); NaN = no value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.scheduling.flex_model import RequestError, ScheduleRequest, SensorRef, VarQ


class StepSampler:
    """Variable quantities on the schedule's steps (interval values) or ticks (instants).

    Parameters
    ----------
    req : ScheduleRequest
        The request whose window and resolution give the steps.
    """

    def __init__(self, req: ScheduleRequest):
        self.req = req
        self.starts = req.index
        self.ticks = self.starts + req.resolution  # the end of each step
        # the same instants as UTC nanoseconds: comparisons without pandas
        self._starts_ns = self.starts.as_unit("ns").asi8
        self._ticks_ns = self.ticks.as_unit("ns").asi8

    def steps(self, vq: VarQ | None, fill_sides: bool = False, overlap: str = "first",
              default: float = np.nan) -> np.ndarray:
        """``vq`` on each step starting in an item's ``[start, end)`` (an instant: its step).

        Overlapping items resolve by ``overlap`` ("first", "min" or "max"); ``fill_sides``
        extends the first and last known value to the window's edges; steps without a
        value are ``default``. A sensor reference raises :class:`RequestError`.
        """
        n = len(self.starts)
        if vq is None:
            return np.full(n, default)
        if isinstance(vq, SensorRef):
            raise RequestError(f"{vq.where}: a sensor reference needs the server backend "
                               "(--backend server); give the values inline instead")
        if isinstance(vq, float | int):
            return np.full(n, float(vq))
        out = _resolve_items(self._starts_ns, vq, overlap) if len(vq) else np.full(n, np.nan)
        if fill_sides and not np.isnan(out).all():
            known = np.flatnonzero(~np.isnan(out))
            out[:known[0]] = out[known[0]]
            out[known[-1] + 1:] = out[known[-1]]
        return np.where(np.isnan(out), default, out)

    def ticks_values(self, vq: VarQ | None, overlap: str) -> np.ndarray | None:
        """SoC constraints at the end of each step (the tick ``start + (j+1) res``);
        constraints outside the schedule's window (a plan made after them, or ending
        before them) do not apply."""
        if vq is None:
            return None
        if isinstance(vq, SensorRef):
            return self.steps(vq)
        n = len(self.ticks)
        if isinstance(vq, float | int):
            return np.full(n, float(vq))
        out = np.full(n, np.nan)
        ticks = self._ticks_ns
        for start, end, value in vq:
            a, b = start.value, end.value
            outside = a > ticks[-1] or b < self.req.start.value
            if a == b and not outside and a != self.req.start.value and not (ticks == a).any():
                raise RequestError(f"SoC constraint at {start.isoformat()} is not on the "
                                   f"schedule's {_iso(self.req.resolution)} ticks")
            hit = (ticks >= a) & (ticks <= b)
            out = _resolve(out, np.where(hit, value, np.nan), overlap)
        return out


def _resolve_items(starts: np.ndarray, items, overlap: str) -> np.ndarray:
    """The items' values on the steps starting in their ``[start, end)`` (an instant: its
    step), all items at once: an ``(items, steps)`` table resolved along the items as
    :func:`_resolve` would, item after item (the first non-NaN, or the NaN-ignoring min
    or max)."""
    a = np.array([item[0].value for item in items], dtype=np.int64)[:, None]
    b = np.array([item[1].value for item in items], dtype=np.int64)[:, None]
    value = np.array([item[2] for item in items], dtype=float)[:, None]
    hit = np.where(b > a, (starts >= a) & (starts < b), starts == a)
    table = np.where(hit, value, np.nan)
    if overlap == "min":
        return np.fmin.reduce(table, axis=0)
    if overlap == "max":
        return np.fmax.reduce(table, axis=0)
    first = np.argmax(~np.isnan(table), axis=0)  # 0 where all are NaN: then NaN
    return table[first, np.arange(table.shape[1])]


def _resolve(old: np.ndarray, new: np.ndarray, overlap: str) -> np.ndarray:
    if overlap == "min":
        return np.fmin(old, new)
    if overlap == "max":
        return np.fmax(old, new)
    return np.where(np.isnan(old), new, old)


def _iso(td: pd.Timedelta) -> str:
    return pd.Timedelta(td).isoformat()
