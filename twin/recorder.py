"""mosaik adapter that records every connected attribute into the results store.

One ``Recorder`` entity accepts any input. Scalars become columns
``<entity>.<attr>``; the lists of a ``<model>Set`` entity become one column per device
``<device>.<attr>`` (``set_labels``); other list-valued attributes (bus voltages, line
loadings) one column per element ``<attr>.<label>`` (``labels``). EV ``events`` arrive at
their own instants (the recorder is hybrid, triggered by them) and go to the events
table. Rows are buffered and written as a Parquet part every ``flush_every_steps``
or every ``flush_interval_s`` of wall time, whichever comes first.
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


class RecorderSim(mosaik_api_v3.Simulator):
    def __init__(self):
        super().__init__(META)
        self.columns: dict[str, list] = {}
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
        self.columns.setdefault("t_s", []).append(time)
        for attr, by_src in data.items():
            for src, value in by_src.items():
                self._append_value(src, attr, value)
        self.n_buffered += 1
        for values in self.columns.values():  # an attribute missing this step is recorded as None
            if len(values) < self.n_buffered:
                values.append(None)
        self._show_progress(time)
        if (self.n_buffered >= self.flush_every
                or time_mod.monotonic() - self.last_flush > self.flush_interval_s):
            self.flush()

    def _append_value(self, src: str, attr: str, value) -> None:
        """One input of this step into its column(s), padded with None before the step
        it first came in."""
        key, row = (src, attr), self.n_buffered
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = self._column_names(src, attr, value)
        if isinstance(name, list):
            for n, v in zip(name, value, strict=True):
                self.columns.setdefault(n, [None] * row).append(v)
        else:
            self.columns.setdefault(name, [None] * row).append(value)

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
            frame = pd.DataFrame(self.columns)
            frame.insert(0, "time", self.start + pd.to_timedelta(frame["t_s"], unit="s"))
            self.series.write(frame)
            self.n_rows += self.n_buffered
            self.columns = {}
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
