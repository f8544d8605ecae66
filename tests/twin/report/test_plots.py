"""Site figures on hand-made series: the EV stays read from the events (hatched bar to
the end for an EV still plugged in, x at a departure with energy unmet), one bar per
stay drawn in at most two calls, and the plan figure with one line per series."""

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from twin.report.plan_plots import planned_vs_realised
from twin.report.plots import _stays, ev_sessions

START = pd.Timestamp("2026-06-01 00:00")
END = START + pd.Timedelta(days=1)
EVENTS = pd.DataFrame([  # shuffled on purpose: the stays come from the time order
    ("departure", "c1", 9 * 3600.0, 12.5, 0.0),
    ("plug_in", "c1", 1 * 3600.0, np.nan, np.nan),
    ("plug_in", "c2", 2 * 3600.0, np.nan, np.nan),
    ("departure", "c2", 5 * 3600.0, 8.0, 1.5),
    ("plug_in", "c1", 20 * 3600.0, np.nan, np.nan),  # still plugged at the end
    ("departure", "c3", 4 * 3600.0, 3.0, 0.0),  # no plug-in seen: no stay
], columns=["kind", "charger", "t_s", "session_e_delivered_kwh", "session_e_unmet_kwh"])


def test_stays_pair_plug_ins_with_departures():
    assert sorted(_stays(EVENTS), key=lambda s: (s[0], s[1])) == [
        ("c1", 3600.0, 9 * 3600.0, 12.5, False),
        ("c1", 20 * 3600.0, None, None, False),
        ("c2", 7200.0, 5 * 3600.0, 8.0, True)]
    assert _stays(EVENTS.iloc[0:0]) == []


def test_ev_sessions_draws_a_bar_per_stay_where_it_was():
    fig = ev_sessions(EVENTS, ["c1", "c2", "c3"], START, END)
    try:
        ax = fig.axes[0]
        bars = sorted((p.get_y() + p.get_height() / 2, p.get_x(), p.get_width(),
                       bool(p.get_hatch())) for p in ax.patches)
        day0 = mdates.date2num(START)
        expected = [(0.0, day0 + 1 / 24, 8 / 24, False), (0.0, day0 + 20 / 24, 4 / 24, True),
                    (1.0, day0 + 2 / 24, 3 / 24, False)]
        assert len(bars) == len(expected)
        for got, want in zip(bars, expected, strict=True):
            assert got[0] == pytest.approx(want[0]) and got[3] == want[3]
            assert got[1] == pytest.approx(want[1]) and got[2] == pytest.approx(want[2])
        crosses = [line for line in ax.lines if line.get_marker() == "x"]
        assert len(crosses) == 1
        assert crosses[0].get_xdata()[0] == pytest.approx(day0 + 5 / 24)  # c2 left unmet
    finally:
        plt.close(fig)


def test_plan_figure_has_one_line_per_series_and_shows_the_last_week():
    index = pd.date_range(START, periods=10 * 96, freq="15min")
    cols = {}
    for d, e in (("battery_00", "e_kwh"), ("ev_charger_00", "ev_e_kwh")):
        cols.update({f"{d}.{e}": np.arange(len(index), dtype=float), f"{d}.e_plan_kwh": 1.0,
                     f"{d}.p_kw": 2.0, f"{d}.p_plan_kw": 3.0})
    ts = pd.DataFrame(cols, index=index)
    fig = planned_vs_realised(ts, [("battery_00", "e_kwh"), ("ev_charger_00", "ev_e_kwh")])
    try:
        shown = [ax for ax in fig.axes if ax.get_visible()]
        assert len(shown) == 4  # two devices, each energy (left) and power (right)
        assert all(len(ax.lines) == 2 for ax in shown)  # planned and realised
        x = shown[0].lines[0].get_xdata()
        assert len(x) == 7 * 96 and pd.Timestamp(x[0]) == index[-7 * 96]
        assert shown[0].lines[0].get_ydata()[-1] == len(index) - 1
    finally:
        plt.close(fig)
