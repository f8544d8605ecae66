"""Report sections (twin.report.html) on hand-made KPI dicts: definitions beside the figures,
the baseline comparison on the same service, end-of-run notes, the limits callout."""

import html

from twin.report.html import comparison, kpi_rows, limits_callout
from twin.report.kpi_defs import KPI_DEFS
from twin.scenario.loading import load_scenario

SERVICE = {"ev_charged_kwh": 380.0, "ev_owed_kwh": 0.0, "battery_stored_change_kwh": 0.0,
           "pv_curtailed_kwh": 0.0, "service_price_eur_per_kwh": 0.2}
FLAG = {"flag": "evs_on_site_at_end", "kpis": ["ev_charged_kwh", "ev_owed_kwh"],
        "note": "2 EV(s) still on site at the end need 79.0 kWh more"}


def _scenario():
    return load_scenario("scenarios/martinique_baseline.yaml",
                         ["scheduling.strategy=flexmeasures"])


def test_less_ev_energy_gets_no_bare_cheaper_verdict():
    base = {**SERVICE, "cost_eur": 50.0, "same_service_cost_eur": 50.0}
    fm = {**SERVICE, "cost_eur": 35.0, "ev_charged_kwh": 301.0, "ev_owed_kwh": 79.0,
          "same_service_cost_eur": 50.8, "end_of_run_flags": [FLAG]}
    page = html.unescape(comparison(_scenario(), fm, base))
    assert "not the same service" in page and "costs 15.00 EUR less" not in page
    assert "50.80 EUR for flexmeasures against 50.00 EUR" in page
    for key in ("ev_charged_kwh", "ev_owed_kwh", "battery_stored_change_kwh",
                "pv_curtailed_kwh", "same_service_cost_eur"):
        assert KPI_DEFS[key].label in page
    assert FLAG["note"] in page  # beside the EV rows it moves


def test_the_same_service_gets_the_plain_verdict():
    base = {**SERVICE, "cost_eur": 50.0}
    page = comparison(_scenario(), {**SERVICE, "cost_eur": 40.0}, base)
    assert "flexmeasures costs 10.00 EUR less than the rule-based baseline for the " \
        "same service" in page


def test_key_figures_carry_their_definitions():
    rows = html.unescape(kpi_rows({"self_sufficiency_ratio": 0.4, "grid_peak_export_kw": 0.0}))
    assert "Site self-sufficiency" in rows
    assert KPI_DEFS["self_sufficiency_ratio"].definition in rows
    assert KPI_DEFS["grid_peak_export_kw"].definition in rows


def test_limits_callout_says_when_what_how_far_how_long_and_who():
    episode = {"element": "transformer", "quantity": "loading_percent", "limit": 100.0,
               "worst": 103.7, "over_by": 3.7, "start": "2026-06-01T23:45:00-04:00",
               "end": "2026-06-02T00:00:00-04:00", "steps": 1, "duration_h": 0.25,
               "top_devices": [["battery_08", 48.2], ["battery_03", 43.3]]}
    box = html.unescape(limits_callout({"limit_episodes": [episode]}))
    for part in ("transformer at 103.7 %", "3.7 over", "2026-06-01 23:45", "0.25 h",
                 "battery_08 48.2 kW"):
        assert part in box
    assert limits_callout({"limit_episodes": []}) == ""
