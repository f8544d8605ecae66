"""Limit episodes (twin.report.limits) on a synthetic frame: which element, when, how far over,
for how long, and who drew most."""

import pandas as pd
import pytest

from twin.report.limits import limit_episodes, warning_line

STEP_S = 900


def _frame(trafo, line, bus):
    index = pd.date_range("2026-06-01 00:00", periods=len(trafo), freq="15min",
                          tz="America/Martinique")
    ts = pd.DataFrame({"grid.trafo_loading_percent": trafo,
                       "line_loading_percent.f1_l1": line,
                       "vm_pu_bus.f2_b5": bus}, index=index)
    devices = pd.DataFrame({"battery_00.p_kw": [5.0, 60.0, 80.0, 5.0, 5.0, 5.0],
                            "ev_charger_01.p_kw": [0.0, 11.0, 22.0, 0.0, 0.0, 0.0],
                            "pv_00.p_kw": [-90.0] * 6,
                            "load_00.p_kw": [1.0, 2.0, 3.0, 1.0, 1.0, 1.0]}, index=index)
    return ts, devices


def test_episodes_name_the_element_the_time_the_excess_and_the_devices():
    ts, devices = _frame(trafo=[50, 101, 104, 99, 50, 50],
                         line=[20, 20, 20, 20, 20, 20],
                         bus=[1.0, 1.0, 0.99, 1.0, 0.88, 0.89])
    episodes = limit_episodes(ts, STEP_S, 0.9, 1.1, 100.0, devices)
    assert [(e.element, e.steps) for e in episodes] == [("transformer", 2), ("bus f2_b5", 2)]
    trafo, bus = episodes
    assert trafo.worst == 104 and trafo.over_by == pytest.approx(4.0)
    assert trafo.start.startswith("2026-06-01T00:15") and trafo.end.startswith("2026-06-01T00:45")
    assert trafo.duration_h == pytest.approx(0.5)
    # at the worst step (00:30) the battery drew 80 kW, the charger 22, the load 3; PV gives
    assert [d for d, _ in trafo.top_devices] == ["battery_00", "ev_charger_01", "load_00"]
    assert bus.quantity == "vm_pu" and bus.limit == 0.9 and bus.worst == 0.88
    assert bus.over_by == pytest.approx(0.02)
    line = warning_line([e.as_dict() for e in episodes])
    assert line.count("\n") == 0 and "transformer at 104.0 %" in line and "1 more" in line


def test_no_episode_within_limits_or_where_the_flow_did_not_converge():
    ts, devices = _frame(trafo=[50, 100, float("nan"), 99, 50, 50],
                         line=[20, float("nan"), 20, 20, 20, 20],
                         bus=[1.0, 1.1, float("nan"), 0.9, 1.0, 1.0])
    assert limit_episodes(ts, STEP_S, 0.9, 1.1, 100.0, devices) == []
    assert warning_line([]) == ""
