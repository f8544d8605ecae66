"""The comparison's common base, verdict and peak explanation, on small records (fast)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from tests.twin.report.market.market_fixtures import SLOTS, community
from twin.report.compare import on_common_base, verdicts
from twin.report.compare_peak import explain_peak, own_peaks


def _runs():
    a = community()
    # a second "rule": h2 used more energy, so its own base would be higher
    energy = a.energy.copy()
    energy.loc[energy["device"] == "h2/load", "energy_kwh"] += 1.0
    b = dataclasses.replace(a, energy=energy)
    kpis = {"ev_charged_kwh": 0.0, "battery_stored_change_kwh": 0.0, "pv_curtailed_kwh": 0.0}
    return [{"rule": "r1", "record": a, "kpis": dict(kpis)},
            {"rule": "r2", "record": b, "kpis": dict(kpis)}]


def test_one_utility_only_base_for_every_rule():
    runs = _runs()
    on_common_base(runs)
    r1, r2 = (r["kpis"] for r in runs)
    assert r1["market_utility_only_cost_eur"] == r2["market_utility_only_cost_eur"]
    assert r1["market_role_consumer_participants"] == 2
    base_h2 = [r["bills"].loc["h2", "utility_only_ct"] for r in runs]
    assert base_h2 == [50.0, 50.0]  # the first rule's, not r2's 110 ct


def test_verdict_names_the_cheaper_rule_for_the_same_service():
    runs = _runs()
    for r, cost in zip(runs, (1.0, 3.0), strict=True):
        r["kpis"].update(market_participants_cost_eur=cost,
                         market_service_price_eur_per_kwh=0.2)
    (line,) = verdicts(runs)
    assert line == "r1 costs 2.00 EUR less than r2 for the same service"
    runs[0]["kpis"]["battery_stored_change_kwh"] = -10.0
    assert verdicts(runs)[0].startswith("not the same service")


def test_a_peak_of_one_rule_is_explained():
    runs = _runs()
    for r, peak in zip(runs, (5.0, 50.0), strict=True):
        r["ts"] = pd.DataFrame({"grid.p_import_kw": [1.0, peak, 1.0],
                                "h2.p_kw": [0.0, peak - 1, 0.0]}, index=SLOTS)
    (peak,) = own_peaks(runs)
    assert peak["run"]["rule"] == "r2" and peak["at"] == SLOTS[1]
    assert peak["others_then_kw"] == {"r1": 5.0}
    e = explain_peak(peak, {"mv": "mv", "lv1": "lv_feeder", "h1": "house"}, 0.25)
    assert e["devices_kw"][0] == ("h2", pytest.approx(49.0))
    assert e["by_source_kwh"].to_dict() == pytest.approx({
        "lv_feeder market": 1.5, "market maker (mv)": 1.0, "own devices (behind the meter)": 0.5})
    runs[0]["ts"]["grid.p_import_kw"] = [1.0, 48.0, 1.0]
    assert own_peaks(runs) == []
