"""Requests scheduled end to end with the builtin backend: FlexMeasures' meaning of
targets, limits, relaxation and costs (agents.scheduling.storage_problem, backends)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.scheduling.backends import InfeasibleError, solve, to_response
from agents.scheduling.flex_model import parse_request
from tests.agents.scheduling.fm_requests import random_request

START = "2026-06-01T00:00:00-04:00"
CHEAP_THEN_DEAR = [{"start": START, "duration": "PT2H", "value": "0.10 EUR/kWh"},
                   {"start": "2026-06-01T02:00:00-04:00", "duration": "PT2H",
                    "value": "0.40 EUR/kWh"}]


def request(entries, **ctx):
    return parse_request({"start": START, "duration": "PT4H", "flex-model": entries,
                          "flex-context": {"consumption-price": CHEAP_THEN_DEAR, **ctx}})


BATTERY = {"device": "bat", "soc-at-start": "20 kWh", "soc-min": "5 kWh", "soc-max": "40 kWh",
           "power-capacity": "10 kW", "roundtrip-efficiency": "81%"}


def test_battery_buys_cheap_sells_dear_within_soc_limits():
    r = solve(request([BATTERY]))
    p, soc = r.power_kw[0], r.soc_kwh[0]
    assert p[:8].sum() > 0 > p[8:].sum()
    assert soc.min() >= 5 - 1e-6 and soc.max() <= 40 + 1e-6
    assert soc[-1] == pytest.approx(5.0, abs=1e-6)  # nothing values energy left at the end
    # stock balance: each step's SoC change is the charged energy x 0.9 or discharged / 0.9
    e = np.diff(np.concatenate([[20.0], soc]))
    expected = np.where(p > 0, p * 0.9, p / 0.9) * 0.25
    assert e == pytest.approx(expected, abs=1e-9)
    assert not (r.breaches or r.costs["breach_eur"])


def test_objective_equals_costed_schedule_on_random_requests():
    for seed in range(15):
        r = solve(parse_request(random_request(seed)))
        assert r.costs["total_eur"] == pytest.approx(r.objective_eur, rel=1e-7, abs=1e-7)


def test_net_energy_is_billed_over_the_site_not_per_device():
    # PV export of 10 kW nets against the battery's charging: at a production price of 0
    # the battery charges from the surplus, which per-device billing would not see
    pv = [{"start": START, "duration": "PT4H", "value": "10 kW"}]
    r = solve(request([BATTERY], **{"production-price": "0 EUR/kWh",
                                   "inflexible-production": [pv]}))
    assert r.power_kw[0][:8] == pytest.approx(10.0)
    assert r.costs["energy_eur"] == pytest.approx(
        -0.0 * 0 + 0.40 * 0.25 * (-10 + r.power_kw[0][8:]).clip(min=0).sum(), abs=1e-6)


def test_soc_target_is_an_equality_at_its_time():
    ev = {"device": "ev", "soc-at-start": "10 kWh", "soc-max": "75 kWh", "power-capacity": "11 kW",
          "production-capacity": "0 kW", "soc-targets": [{"datetime": "2026-06-01T03:00:00-04:00",
                                                          "value": "30 kWh"}]}
    r = solve(request([ev]))
    assert r.soc_kwh[0][11] == pytest.approx(30.0, abs=1e-6)  # end of the 02:45 step = 03:00
    assert r.power_kw[0].min() >= -1e-9
    assert r.power_kw[0][:8].sum() * 0.25 == pytest.approx(20.0, abs=1e-6)  # bought cheap


def test_unreachable_target_is_priced_and_reported_when_relaxed():
    ev = {"device": "ev", "soc-at-start": "10 kWh", "soc-max": "75 kWh", "power-capacity": "7 kW",
          "production-capacity": "0 kW",
          "soc-targets": [{"datetime": "2026-06-01T02:00:00-04:00", "value": "60 kWh"}]}
    r = solve(request([ev]))
    assert r.power_kw[0][:8] == pytest.approx(7.0)  # does what it can
    (breach,) = r.breaches
    assert breach["device"] == "ev" and breach["constraint"] == "soc-targets"
    assert breach["time"] == "2026-06-01T02:00:00-04:00"
    assert breach["breach_kwh"] == pytest.approx(24.0 - 60.0)
    # FlexMeasures' default 1000 EUR/kWh on a stock in kW x step (k = 4 steps per hour):
    # the largest breach at 1000 x 4 per kWh plus each step's at 1000 per kWh
    assert r.costs["breach_eur"] == pytest.approx(36.0 * 1000 * 4 * (1 + 0.25))
    response = to_response(r)
    assert response["schedules"]["ev"]["unit"] == "kW"
    assert response["breaches"][0]["constraint"] == "soc-targets"


def test_unreachable_target_without_relaxation_names_constraint_and_time():
    ev = {"device": "ev", "soc-at-start": "10 kWh", "soc-max": "75 kWh", "power-capacity": "7 kW",
          "soc-targets": [{"datetime": "2026-06-01T02:00:00-04:00", "value": "60 kWh"}]}
    with pytest.raises(InfeasibleError) as info:
        solve(request([ev], **{"relax-constraints": False}))
    assert "soc-targets of ev at 2026-06-01T02:00:00-04:00" in str(info.value)


def test_site_limit_below_inflexible_load():
    load = [{"start": START, "duration": "PT4H", "value": "50 kW"}]
    ctx = {"site-consumption-capacity": "40 kW", "inflexible-consumption": [load]}
    r = solve(request([BATTERY], **ctx))
    site = [b for b in r.breaches if b["constraint"] == "site-consumption-capacity"]
    assert site and max(b["breach_kw"] for b in site) > 0
    assert r.power_kw[0][:8].max() < 0  # the battery helps by discharging
    with pytest.raises(InfeasibleError) as info:
        solve(request([BATTERY], **ctx, **{"relax-constraints": False}))
    assert "site-consumption-capacity of site at 2026-06-01T" in str(info.value)


def test_peak_price_lowers_the_peak():
    load = [{"start": START, "duration": "PT4H", "value": "20 kW"}]
    flat = solve(request([BATTERY], **{"inflexible-consumption": [load]}))
    peak = solve(request([BATTERY], **{"inflexible-consumption": [load],
                                      "site-peak-consumption-price": "50 EUR/kW"}))
    assert peak.power_kw[0].max() < flat.power_kw[0].max()
    assert peak.costs["peak_eur"] > 0


def test_prefer_charging_sooner_breaks_ties_towards_early_charging():
    flat = [{"start": START, "duration": "PT4H", "value": "0.2 EUR/kWh"}]
    ev = {"device": "ev", "soc-at-start": "0 kWh", "soc-max": "10 kWh", "power-capacity": "10 kW",
          "production-capacity": "0 kW",
          "soc-targets": [{"datetime": "2026-06-01T04:00:00-04:00", "value": "10 kWh"}]}
    r = solve(parse_request({"start": START, "duration": "PT4H", "flex-model": [ev],
                             "flex-context": {"consumption-price": flat}}))
    assert r.power_kw[0][:4] == pytest.approx(10.0) and r.power_kw[0][4:] == pytest.approx(0.0)
