"""mosaik adapter that records every connected attribute into the results store.

One ``Recorder`` entity accepts any input. Scalars become columns
``<entity>.<attr>``; the lists of a ``<model>Set`` entity become one column per device
``<device>.<attr>`` (``set_labels``); other list-valued attributes (bus voltages, line
loadings) one column per element ``<attr>.<label>`` (``labels``). EV ``events`` arrive at
their own instants (the recorder is hybrid, triggered by them) and go to the events
table. Rows are buffered and written as a Parquet part every ``flush_every_steps``
or every ``flush_interval_s`` of wall time, whichever comes first.

The buffer keeps each input (source, attribute) as it came, one entry per step (a
set entity's list as one entry), and spreads lists into their columns only when a
part is written: a step costs one append per input, not one per column.
"""

from __future__ import annotations

import sys
import time as time_mod
from pathlib import Path

import mosaik_api_v3
import numpy as np
import pandas as pd
from tqdm import tqdm

from twin.results import PartWriter

META = {
    "api_version": "3.0",
    "type": "hybrid",
    "models": {
        "Recorder": {
            "public": True, "params": [], "attrs": ["events"], "any_inputs": True,
            "trigger": ["events"],
        }
    },
}


class Buffer:
    """One input's values since the last part: ``rows`` (buffer row of each value) and
    ``values`` (a scalar, or a list spread over ``names`` at :meth:`columns`)."""

    def __init__(self, names: str | list[str]):
        self.names = names
        self.rows: list[int] = []
        self.values: list = []

    def columns(self, n_rows: int) -> dict[str, list]:
        """The buffered values as columns of ``n_rows``, None where a step had none."""
        values = self.values
        if len(self.rows) != n_rows:  # missing from some steps
            full: list = [None] * n_rows
            for row, value in zip(self.rows, values, strict=True):
                full[row] = value
            values = full
        if not isinstance(self.names, list):
            return {self.names: values}
        empty = [None] * len(self.names)
        spread = zip(*(empty if v is None else v for v in values), strict=True)
        return dict(zip(self.names, map(list, spread), strict=True))


class RecorderSim(mosaik_api_v3.Simulator):
    def __init__(self):
        super().__init__(META)
        self.t_s: list[int] = []
        self.buffers: dict[tuple[str, str], Buffer] = {}
        self.names: dict[tuple[str, str], str | list[str]] = {}
        self.n_buffered = 0
        self.events: list[dict] = []

    def init(self, sid, time_resolution=1.0, run_dir: str = "", start: str = "",
             step_s: int = 900, flush_every_steps: int = 960, flush_interval_s: float = 10.0,
             labels: dict | None = None, set_labels: dict | None = None,
             progress: bool = False, n_steps: int = 0,
             label: str = ""):
        self.step_s = step_s
        self.start = pd.Timestamp(start)
        self.flush_every = flush_every_steps
        self.flush_interval_s = flush_interval_s
        self.last_flush = time_mod.monotonic()
        self.labels = labels or {}
        self.set_labels = set_labels or {}
        self.series = PartWriter(Path(run_dir) / "timeseries")
        self.event_parts = PartWriter(Path(run_dir) / "events")
        self.n_rows = 0
        self.bar = tqdm(total=n_steps, unit="step", desc=label, disable=not progress,
                        dynamic_ncols=True, mininterval=0.5, file=sys.stderr)
        return self.meta

    def create(self, num, model):
        if num != 1:
            raise ValueError("one Recorder per run")
        return [{"eid": "recorder", "type": model}]

    def step(self, time, inputs, max_advance):
        data = inputs.get("recorder", {})
        for src, events in data.pop("events", {}).items():
            self.events += [{**e, "source": src.split(".", 1)[-1]} for e in events]
        if time % self.step_s == 0:
            self._append_row(time, data)
        return time - time % self.step_s + self.step_s

    def _append_row(self, time: int, data: dict) -> None:
        row = self.n_buffered
        self.t_s.append(time)
        for attr, by_src in data.items():
            for src, value in by_src.items():
                buffer = self.buffers.get((src, attr))
                if buffer is None:
                    buffer = self.buffers[(src, attr)] = Buffer(self._names(src, attr, value))
                buffer.rows.append(row)
                buffer.values.append(value)
        self.n_buffered += 1
        self._show_progress(time)
        if (self.n_buffered >= self.flush_every
                or time_mod.monotonic() - self.last_flush > self.flush_interval_s):
            self.flush()

    def _names(self, src: str, attr: str, value) -> str | list[str]:
        """The column name(s) of an input, fixed at its first value."""
        key = (src, attr)
        if key not in self.names:
            self.names[key] = self._column_names(src, attr, value)
        return self.names[key]

    def _show_progress(self, time: int) -> None:
        """One step on the progress bar, its label the simulated time."""
        self.bar.update(1)
        if self.bar.n == self.bar.total:  # the last step: the bar ends at the run's end
            self.bar.set_postfix_str(str(self.start + pd.Timedelta(seconds=time + self.step_s)))
        elif self.bar.n % 16 == 1:
            self.bar.set_postfix_str(str(self.start + pd.Timedelta(seconds=time)), refresh=False)

    def _column_names(self, src: str, attr: str, value) -> str | list[str]:
        eid = src.split(".", 1)[-1]
        if eid in self.set_labels:  # a <model>Set entity: one column per device
            return [f"{device}.{attr}" for device in self.set_labels[eid]]
        if isinstance(value, list):
            labels = self.labels.get(attr) or range(len(value))
            return [f"{attr}.{lab}" for lab in labels]
        return f"{eid}.{attr}"

    def flush(self) -> None:
        self.last_flush = time_mod.monotonic()
        if self.n_buffered:
            columns = {"t_s": self.t_s}
            for key in sorted(self.buffers):  # the same column order in every run
                columns.update(self.buffers[key].columns(self.n_buffered))
            frame = pd.DataFrame(columns)
            frame.insert(0, "time", self.start + pd.to_timedelta(frame["t_s"], unit="s"))
            self.series.write(frame)
            self.n_rows += self.n_buffered
            self.t_s, self.buffers = [], {}
            self.n_buffered = 0
        if self.events:
            self.event_parts.write(events_frame(self.events, self.start))
            self.events = []

    def get_data(self, outputs):
        return {}

    def finalize(self):
        self.flush()
        self.bar.close()


def events_frame(events: list[dict], start: pd.Timestamp) -> pd.DataFrame:
    """Flatten EV events (departures carry their session) into a table."""
    rows = []
    for e in events:
        row = {k: v for k, v in e.items() if k != "session"}
        for k, v in (e.get("session") or {}).items():
            if k not in ("ev", "charger"):
                row[f"session_{k}"] = v
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.insert(0, "time", start + pd.to_timedelta(frame["t_s"].astype(float), unit="s"))
    for col in frame.columns:
        if frame[col].dtype == object and col not in ("ev", "kind", "charger", "source"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(np.float64)
    return frame
