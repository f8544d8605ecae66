"""The same-service comparison (twin.report.service), on hand-made KPI dicts."""

import pytest

from twin.report.service import same_service_cost_eur, service_differences, verdict

BASE = {"cost_eur": 50.0, "ev_charged_kwh": 380.0, "ev_owed_kwh": 0.0,
        "battery_stored_change_kwh": 0.0, "pv_curtailed_kwh": 0.0}


def test_same_service_gives_plain_verdict():
    other = {**BASE, "cost_eur": 40.0, "ev_charged_kwh": 380.5}
    assert service_differences(other, BASE) == []
    assert verdict("fm", "rule-based", other, BASE, 0.2) == \
        "fm costs 10.00 EUR less than rule-based for the same service"


def test_less_ev_energy_is_not_the_same_service():
    other = {**BASE, "cost_eur": 35.0, "ev_charged_kwh": 302.0, "ev_owed_kwh": 79.0}
    diffs = service_differences(other, BASE)
    assert [d.key for d in diffs] == ["ev_charged_kwh", "ev_owed_kwh"]
    line = verdict("fm", "rule-based", other, BASE, 0.2)
    assert "not the same service" in line and "less" not in line.split(";")[-1]
    # 35 + 0.2 * 79 = 50.8 for the same service: dearer than the baseline's 50
    assert same_service_cost_eur(other, 0.2) == pytest.approx(50.8)
    assert "50.80 EUR for fm against 50.00 EUR" in line


def test_drained_batteries_are_charged_at_the_price():
    drained = {**BASE, "cost_eur": 20.0, "battery_stored_change_kwh": -150.0}
    assert same_service_cost_eur(drained, 0.2) == pytest.approx(50.0)
    assert [d.key for d in service_differences(drained, BASE)] == \
        ["battery_stored_change_kwh"]


def test_tolerance_grows_with_the_magnitude():
    big = {**BASE, "ev_charged_kwh": 10_000.0}
    assert service_differences({**big, "ev_charged_kwh": 10_090.0}, big) == []
    assert service_differences({**big, "ev_charged_kwh": 10_150.0}, big)
