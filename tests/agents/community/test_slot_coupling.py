"""The community and the operator in one simulator (a slot's ticks inside one mosaik
step) give the run of the two adapters stepped tick by tick through mosaik: the same
trades, fees, device set-points and states, for every rule."""

from pathlib import Path

import pandas as pd
import pytest

from twin import world as tw
from twin.results import read_market_table, read_timeseries
from twin.runner import quiet_mosaik
from twin.scenario.loading import load_scenario
from twin.world import MarketControl, build_world

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "martinique_p2p.yaml"


def run(run_dir: Path, rule: str, update: str):
    """10 h from 05:00 under ``rule``, the ramps re-priced every ``update``."""
    sc = load_scenario(SCENARIO, [
        "start=2026-06-01T05:00:00-04:00", "duration=PT10H", f"market.rule={rule}",
        *(f"market.strategies[{k}].update_interval={update}" for k in range(3)),
        "outputs.report=false"])
    quiet_mosaik()
    world, until = build_world(sc, run_dir)
    world.run(until=until, print_progress=False)
    ts = read_timeseries(run_dir)
    return (read_market_table(run_dir, "trades"), read_market_table(run_dir, "fees"),
            ts[sorted(ts.columns)])


@pytest.mark.parametrize(("rule", "update"), [("pay_as_clear", "PT90S"),
                                              ("pay_as_offer", "PT5M")])
def test_one_simulator_per_slot_gives_the_tick_by_tick_run(tmp_path, monkeypatch, rule,
                                                           update):
    slots = run(tmp_path / "slots", rule, update)  # the default: one step per slot
    monkeypatch.setattr(tw, "control_for", lambda scenario: MarketControl(ticked=True))
    ticks = run(tmp_path / "ticks", rule, update)
    trades, fees, ts = ticks
    assert len(trades) > 500 and trades["market"].nunique() > 5
    if update == "PT90S":  # ramps that end on the last tick, whose trades reach the
        last = trades[trades["tick"] == 9]  # agents in the next slot's first tick
        assert last["buyer_device"].str.contains("bat").any()
    assert (trades["seller"] != "market_maker").sum() > 100  # peer trades, not only the utility
    pd.testing.assert_frame_equal(slots[0], trades, check_exact=True)
    pd.testing.assert_frame_equal(slots[1], fees, check_exact=True)
    setpoints = [c for c in ts.columns if c.endswith("p_set_kw")]
    assert setpoints and ts[setpoints].abs().to_numpy().sum() > 1.0  # the batteries moved
    pd.testing.assert_frame_equal(slots[2], ts, check_exact=True)
