"""Console hygiene: the progress bar ends at the run's end, the wall time is the command's."""

from __future__ import annotations

import time

import pandas as pd

from twin.provenance import command_wall_time_s, mark_command_start
from twin.recorder import RecorderSim


def test_progress_bar_ends_at_the_runs_end_time(tmp_path):
    """4 steps of 1 h from 20:00: the last postfix is 24:00, the end of the last step
    (it used to show the start of the last step seen every 16 steps)."""
    rec = RecorderSim()
    rec.init("rec", run_dir=str(tmp_path), start="2026-06-01T20:00:00-04:00", step_s=3600,
             n_steps=4, progress=True)
    rec.bar.disable = False
    for k in range(4):
        rec.step(k * 3600, {"recorder": {}}, 0)
    assert rec.bar.postfix == str(pd.Timestamp("2026-06-02T00:00:00-04:00"))
    rec.finalize()


def test_command_wall_time_counts_from_the_command_start():
    mark_command_start(time.perf_counter() - 5.0)
    assert 5.0 <= command_wall_time_s() < 6.0
