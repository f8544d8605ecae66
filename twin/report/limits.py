"""Steps where the feeder exceeds a limit, as episodes: which element, when, how far
over, for how long, and which devices drew most at the worst step. Pure functions.

Sign convention of the device powers: positive = consumption / charging / import; the
devices that "drew most" are those with the largest positive ``p_kw`` at the step.

Limits: bus voltage within ``[vm_min_pu, vm_max_pu]``, line and transformer loading at
most ``loading_max_percent``. An episode is a run of consecutive steps in which one
element is outside one limit; "over by" is how far its worst value lies beyond the
limit (in pu for voltages, in percentage points for loadings). Steps whose power flow
did not converge have no values and start or end no episode.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

TOP_DEVICES = 3


@dataclass(frozen=True)
class Episode:
    """One element outside one limit over consecutive steps."""

    element: str  # "transformer", "line f1_l1", "bus f2_b5"
    quantity: str  # "loading_percent" | "vm_pu"
    limit: float  # the limit it crossed [% or pu]
    worst: float  # its worst value in the episode [% or pu]
    start: str  # ISO time of the first step's start
    end: str  # ISO time of the last step's end
    steps: int
    duration_h: float
    top_devices: tuple[tuple[str, float], ...]  # (device, p_kw) at the worst step

    @property
    def over_by(self) -> float:
        """How far the worst value lies beyond the limit (> 0). [% points or pu]"""
        return abs(self.worst - self.limit)

    def as_dict(self) -> dict:
        return {**asdict(self), "over_by": self.over_by,
                "top_devices": [list(d) for d in self.top_devices]}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the runs of True in ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _top(device_p_kw: pd.DataFrame, i: int) -> tuple[tuple[str, float], ...]:
    if device_p_kw.empty:
        return ()
    row = device_p_kw.iloc[i].astype(float).dropna()
    row = row[row > 0].sort_values(ascending=False).head(TOP_DEVICES)
    return tuple((str(k).split(".")[0], float(v)) for k, v in row.items())


def element_episodes(values: pd.Series, element: str, quantity: str, limit: float,
                     above: bool, step_s: float, device_p_kw: pd.DataFrame) -> list[Episode]:
    """The episodes of one element's series beyond ``limit`` (``above``: values greater
    than the limit are out, else values smaller)."""
    v = values.astype(float).to_numpy()
    out = np.nan_to_num(v, nan=limit) > limit if above else np.nan_to_num(v, nan=limit) < limit
    index = pd.DatetimeIndex(values.index)
    episodes = []
    for a, b in _runs(out):
        seg = v[a:b]
        i = a + int(np.nanargmax(seg) if above else np.nanargmin(seg))
        end = index[b - 1] + pd.Timedelta(seconds=step_s)
        episodes.append(Episode(element, quantity, float(limit), float(v[i]),
                                index[a].isoformat(), end.isoformat(), int(b - a),
                                float((b - a) * step_s / 3600.0), _top(device_p_kw, i)))
    return episodes


def limit_episodes(ts: pd.DataFrame, step_s: float, vm_min_pu: float, vm_max_pu: float,
                   loading_max_percent: float, device_p_kw: pd.DataFrame) -> list[Episode]:
    """Every episode of the run: the transformer, then lines, then buses, each in time
    order. ``ts`` holds ``grid.trafo_loading_percent``, ``line_loading_percent.<line>``
    and ``vm_pu_bus.<bus>`` columns (any may be missing); ``device_p_kw`` one ``p_kw``
    column per device, on the same index."""
    found: list[Episode] = []
    kw = {"step_s": step_s, "device_p_kw": device_p_kw}
    if "grid.trafo_loading_percent" in ts:
        found += element_episodes(ts["grid.trafo_loading_percent"], "transformer",
                                  "loading_percent", loading_max_percent, True, **kw)
    for col in (c for c in ts.columns if c.startswith("line_loading_percent.")):
        found += element_episodes(ts[col], f"line {col.split('.', 1)[1]}", "loading_percent",
                                  loading_max_percent, True, **kw)
    for col in (c for c in ts.columns if c.startswith("vm_pu_bus.")):
        bus = f"bus {col.split('.', 1)[1]}"
        found += element_episodes(ts[col], bus, "vm_pu", vm_max_pu, True, **kw)
        found += element_episodes(ts[col], bus, "vm_pu", vm_min_pu, False, **kw)
    return found


def describe(e: Episode | dict) -> str:
    """One phrase for an episode, e.g. 'transformer at 103.7 % (limit 100 %, 3.7 over)
    from 2026-06-01T23:45:00-04:00 for 0.25 h'."""
    d = e.as_dict() if isinstance(e, Episode) else e
    unit, fmt = (" %", ".1f") if d["quantity"] == "loading_percent" else (" pu", ".3f")
    return (f"{d['element']} at {d['worst']:{fmt}}{unit} (limit {d['limit']:g}{unit}, "
            f"{d['over_by']:{fmt}} over) from {d['start'][:16].replace('T', ' ')} "
            f"for {d['duration_h']:g} h")


def warning_line(episodes: list[dict]) -> str:
    """The console's one warning line for a run's episodes ('' without any)."""
    if not episodes:
        return ""
    worst = max(episodes, key=lambda d: d["over_by"] / (1.0 if d["quantity"] == "vm_pu"
                                                         else 100.0))
    more = f" and {len(episodes) - 1} more episode(s)" if len(episodes) > 1 else ""
    return f"warning: limits exceeded: {describe(worst)}{more} (see report)"
