"""mosaik adapter that records every connected attribute into the results store.

One ``Recorder`` entity accepts any input. Scalars become columns
``<entity>.<attr>``; list-valued attributes (bus voltages, line loadings) become one
column per element, named by the labels given at ``init``. EV ``events`` arrive at
their own instants (the recorder is hybrid, triggered by them) and go to the events
table. Rows are buffered and written as a Parquet part every ``flush_every_steps``.
"""

from __future__ import annotations

from pathlib import Path

import mosaik_api_v3
import numpy as np
import pandas as pd

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
        self.rows: list[dict] = []
        self.events: list[dict] = []

    def init(self, sid, time_resolution=1.0, run_dir: str = "", start: str = "",
             step_s: int = 900, flush_every_steps: int = 96, labels: dict | None = None):
        self.step_s = step_s
        self.start = pd.Timestamp(start)
        self.flush_every = flush_every_steps
        self.labels = labels or {}
        self.series = PartWriter(Path(run_dir) / "timeseries")
        self.event_parts = PartWriter(Path(run_dir) / "events")
        self.n_rows = 0
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
            row: dict = {"t_s": time}
            for attr, by_src in data.items():
                for src, value in by_src.items():
                    name = f"{src.split('.', 1)[-1]}.{attr}"
                    if isinstance(value, list):
                        labels = self.labels.get(attr) or range(len(value))
                        row.update({f"{attr}.{lab}": v for lab, v in zip(labels, value, strict=True)})
                    else:
                        row[name] = value
            self.rows.append(row)
            if len(self.rows) >= self.flush_every:
                self.flush()
        return time - time % self.step_s + self.step_s

    def flush(self) -> None:
        if self.rows:
            frame = pd.DataFrame(self.rows)
            frame.insert(0, "time", self.start + pd.to_timedelta(frame["t_s"], unit="s"))
            self.series.write(frame)
            self.n_rows += len(self.rows)
            self.rows = []
        if self.events:
            self.event_parts.write(events_frame(self.events, self.start))
            self.events = []

    def get_data(self, outputs):
        return {}

    def finalize(self):
        self.flush()


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
