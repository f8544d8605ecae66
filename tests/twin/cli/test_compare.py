"""``python run.py compare``: the same scenario under several rules, side by side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import REPO
from twin.results import read_parts

ROOT = REPO
pytestmark = pytest.mark.slow
EXT = ["market_maker", "utility"]


def test_compare_runs_each_rule_and_writes_one_report(tmp_path):
    cmd = [sys.executable, "run.py", "compare", "scenarios/martinique_p2p.yaml",
           "--rules", "pay_as_bid", "pay_as_offer", "--set", "duration=PT6H",
           "--set", "start=2026-06-01T10:00:00-04:00", "--out", str(tmp_path), "--quiet"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (folder,) = (tmp_path / "martinique_p2p-compare").iterdir()
    page = (folder / "comparison.html").read_text()
    assert "pay_as_bid" in page and "pay_as_offer" in page and "Grid impact" not in page
    assert sorted(p.name for p in (folder / "plots").iterdir()) == [
        "grid.png", "price_volume.png", "surplus_bills.png"]
    runs = json.loads((folder / "comparison.json").read_text())
    assert [runs[r]["status"] for r in runs] == ["completed", "completed"]
    bid, offer = (runs[r]["kpis"] for r in ("pay_as_bid", "pay_as_offer"))
    # pay-as-bid trades at the bids' rates, pay-as-offer at the offers': same people,
    # same ramps, so the buyers pay more on average under pay-as-bid, over all the
    # market's matches (peer-to-peer and a participant's devices with each other: the
    # P2P subsets differ between the rules, so their means need not be ordered)
    rates = {}
    for rule in ("pay_as_bid", "pay_as_offer"):
        t = read_parts(Path(runs[rule]["run_dir"]) / "market" / "trades")
        t = t[~t["buyer"].isin(EXT) & ~t["seller"].isin(EXT)]
        rates[rule] = (t["energy_kwh"] * t["rate_ct_per_kwh"]).sum() / t["energy_kwh"].sum()
    assert rates["pay_as_bid"] > rates["pay_as_offer"]
    for k in (bid, offer):
        assert k["power_flow_nonconverged_steps"] == 0
    # issue 12: one utility-only base for every rule, savings stored-energy neutral
    assert bid["market_utility_only_cost_eur"] == offer["market_utility_only_cost_eur"]
    for k in (bid, offer):
        assert k["market_savings_eur"] == pytest.approx(
            k["market_utility_only_cost_eur"] - k["market_participants_cost_eur"]
            + k["market_stored_value_eur"])
        assert k["market_stored_value_eur"] == pytest.approx(
            k["market_service_price_eur_per_kwh"] * k["battery_stored_change_kwh"])
    assert "<h2>Verdict</h2>" in page and ("for the same service" in page)
    assert "What each rule delivered" in page and "EV energy delivered" in page
    assert "Savings by participant role" in page and "prosumer" in page
    assert "Peaks" in page


def test_compare_refuses_a_scenario_without_market(tmp_path):
    done = subprocess.run([sys.executable, "run.py", "compare",
                           "scenarios/martinique_baseline.yaml", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "market: compare needs a scenario with a market section" in done.stderr
    assert "Traceback" not in done.stderr
