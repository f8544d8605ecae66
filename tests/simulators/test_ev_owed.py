"""The energy an EV on site still needs (simulators.ev fleet ``ev_e_owed_kwh``): what the
twin counts as owed when a run ends with the EV still there."""

import numpy as np
import pandas as pd
import pytest

from simulators.ev.model import ChargerParams, EvFleet, EvParams

START = pd.Timestamp("2024-06-03 00:00", tz="America/Martinique")


def test_owed_is_the_remaining_need_while_on_site_and_zero_once_away():
    ev = EvParams()
    fleet = EvFleet([ev], [ChargerParams()], START, np.random.default_rng(0), 86400.0,
                    trips=[(0, 300.0, 7200.0, 0.0)])  # on site from 300 s to 7,200 s
    assert fleet.ev_e_owed_kwh()[0] == 0.0  # away before it arrives
    fleet.set_power(np.array([0.0]))
    fleet.advance(900.0)
    need = fleet.ev_e_kwh()[0]
    target = ev.capacity_kwh * ev.soc_target_percent / 100.0
    assert target - need > 1.0  # it arrived below its target
    assert fleet.ev_e_owed_kwh()[0] == pytest.approx(target - need)
    fleet.set_power(np.array([11.0]))
    fleet.advance(1800.0)  # charging shrinks what is owed by what it stored
    stored = fleet.ev_e_kwh()[0] - need
    assert stored > 0
    assert fleet.ev_e_owed_kwh()[0] == pytest.approx(max(target - need - stored, 0.0))
    fleet.advance(8000.0)  # departed: owed counts in its session's unmet energy instead
    assert fleet.ev_e_owed_kwh()[0] == 0.0
