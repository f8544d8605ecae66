"""The twin's live state as a FlexMeasures trigger body (agents.scheduling.live_request)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agents.scheduling.backends import solve
from agents.scheduling.flex_model import parse_request
from agents.scheduling.live_request import SiteModel, check_overrides, request_body, series
from twin.scenario.errors import ScenarioError
from twin.scenario.loading import load_scenario
from twin.scenario.specs import BatterySpec

T0 = pd.Timestamp("2026-06-01T18:00:00-04:00")
BATTERY = BatterySpec(capacity_kwh=100.0, p_charge_max_kw=50.0, p_discharge_max_kw=40.0,
                      soc_min_percent=5.0, soc_max_percent=95.0, soc_initial_percent=50.0)


def _site(**kw):
    return SiteModel(["bat"], [BATTERY], ["ch1", "ch2"], np.array([22.0, 7.0]),
                     np.array([True, False]), 900, site_capacity_kw=250.0, **kw)


def _ev(departure_s=(3 * 3600.0, np.nan), e_kwh=(20.0, np.nan)):
    return {"departure_s": np.array(departure_s), "e_kwh": np.array(e_kwh),
            "e_min_kwh": np.array([5.0, np.nan]), "e_max_kwh": np.array([75.0, np.nan]),
            "e_target_kwh": np.array([60.0, np.nan]), "eta_charge": np.array([0.9, np.nan]),
            "eta_discharge": np.array([0.9, np.nan])}


def _body(site=None, n=16, ev=None, elapsed_s=0.0):
    return request_body(site or _site(), T0, elapsed_s, np.array([30.0]), ev or _ev(),
                        np.linspace(-10, 10, n), np.full(n, 0.2), np.full(n, 0.1))


def test_series_merges_equal_runs_and_reads_back():
    items = series(T0, pd.Timedelta(minutes=15), [1.0, 1.0, 2.5, 2.5, 2.5, -1.0], "kW")
    assert [i["duration"] for i in items] == ["PT30M", "PT45M", "PT15M"]
    assert items[1]["start"] == "2026-06-01T18:30:00-04:00" and items[2]["value"] == "-1.0 kW"


def test_body_reads_as_a_flexmeasures_request():
    req = parse_request(_body())
    assert (req.start, req.n_steps) == (T0, 16)
    bat, ev = req.devices  # the charger without an EV is left out
    assert (bat.name, ev.name) == ("bat", "ch1")
    assert bat.soc_at_start_kwh == 30.0 and bat.soc_min_kwh == pytest.approx(5.0)
    assert (bat.consumption_capacity_kw, bat.production_capacity_kw) == (50.0, 40.0)
    # the battery keeps its initial energy at the plan's end
    assert bat.soc_minima == [(T0 + pd.Timedelta(hours=4),) * 2 + (50.0,)]
    # the EV: the charger's rating until departure at 21:00, nothing after; its target
    departure = T0 + pd.Timedelta(hours=3)
    assert ev.consumption_capacity_kw == [(T0, departure, 22.0),
                                          (departure, T0 + pd.Timedelta(hours=4), 0.0)]
    assert ev.soc_minima == [(departure, departure, 60.0)]
    assert req.context.site_consumption_capacity_kw == 250.0
    assert len(req.context.inflexible_consumption[0]) == 16


def test_unreachable_ev_target_becomes_what_the_charger_can_deliver():
    # 30 min left: 22 kW x 0.5 h x 0.9 = 9.9 kWh on top of 20 kWh
    req = parse_request(_body(ev=_ev(departure_s=(1800.0, np.nan))))
    assert req.devices[1].soc_minima[0][2] == pytest.approx(29.9)


def test_overrides_replace_fields_and_add_soc_constraints():
    extra = [{"datetime": "2026-06-01T20:00:00-04:00", "value": "45 kWh"}]
    site = _site(flex_model={"battery": {"power-capacity": "10 kW", "soc-minima": extra},
                             "ch1": {"charging-efficiency": "100%"}},
                 flex_context={"site-peak-consumption-price": "20 EUR/kW"})
    req = parse_request(_body(site))
    bat, ev = req.devices
    assert bat.power_capacity_kw == 10.0 and len(bat.soc_minima) == 2
    assert ev.charging_efficiency == 1.0
    assert req.context.site_peak_consumption_price == 20.0
    result = solve(req)
    # the extra soc-minimum at 20:00 is met (stock at the end of the step ending then)
    assert result.soc_kwh[0, 7] >= 45.0 - 1e-6 and not result.breaches
    assert np.abs(result.power_kw[0]).max() <= 10.0 + 1e-9


def test_schedule_meets_the_ev_target_and_the_battery_keeps_its_energy():
    result = solve(parse_request(_body()))
    assert result.soc_kwh[1, 11] == pytest.approx(60.0, abs=1e-6)  # at 21:00
    assert np.all(result.power_kw[1, 12:] == 0.0)
    assert result.soc_kwh[0, -1] >= 50.0 - 1e-6
    assert not result.breaches


@pytest.mark.parametrize(("model", "context", "expected"), [
    ({"battery": {"soc-at-start": "5 kWh"}}, {}, "battery.soc-at-start: comes from the twin"),
    ({"battery": {"soc-mim": "5 kWh"}}, {}, "did you mean 'soc-min'"),
    ({"battery": {"power-capacity": "5 kWh"}}, {}, "battery.power-capacity"),
    ({}, {"inflexible-consumption": []}, "flex_context.inflexible-consumption: comes from"),
    ({}, {"site-peak-consumption-price": "2 EUR"}, "flex_context.site-peak-consumption-price"),
])
def test_bad_overrides_are_named(model, context, expected):
    with pytest.raises(ValueError, match=expected.replace(".", r"\.").replace("'", ".")):
        check_overrides(model, context)


def test_scenario_override_for_an_unknown_asset_is_named():
    with pytest.raises(ScenarioError) as exc:
        load_scenario("scenarios/martinique_baseline.yaml",
                      ["scheduling.strategy=flexmeasures",
                       "scheduling.flex_model.batery_01.soc-min=3 kWh"])
    assert "scheduling.flex_model.batery_01" in str(exc.value)
    assert "did you mean 'battery_01'" in str(exc.value)


@pytest.mark.parametrize("tz", ["UTC", "America/Martinique", "Europe/Amsterdam", None])
def test_series_instants_are_pandas_own_across_time_zones_and_dst(tz):
    """The cached ISO texts of the series' starts are what pandas writes for ``start +
    k resolution`` (also over a DST change, and twice in a row: from the cache)."""
    from twin.timeparse import iso_duration

    rng = np.random.default_rng(1)
    for start in (pd.Timestamp("2026-03-29T00:00", tz=tz),
                  pd.Timestamp("2026-10-25T00:00:00.5", tz=tz)):
        for res in (pd.Timedelta("15min"), pd.Timedelta("7s")):
            values = np.round(rng.normal(size=150), 1)
            values[40:70] = 3.0
            cuts = [0] + [j for j in range(1, 150) if values[j] != values[j - 1]] + [150]
            expected = [{"start": (start + a * res).isoformat(),
                         "duration": iso_duration((b - a) * res.total_seconds()),
                         "value": f"{float(values[a])!r} kW"}
                        for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
            assert series(start, res, values, "kW") == expected
            assert series(start, res, values, "kW") == expected
