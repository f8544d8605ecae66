"""FlexMeasures trigger bodies read into the twin's units (agents.scheduling.flex_model)."""

from __future__ import annotations

import pandas as pd
import pytest

from agents.scheduling.flex_model import RequestError, SensorRef, parse_request

START = "2026-06-01T00:00:00-04:00"


def body(entry=None, ctx=None, **top):
    return {"start": START, "duration": "PT4H",
            "flex-model": [entry or {"device": "b", "power-capacity": "10 kW"}],
            "flex-context": ctx or {"consumption-price": "0.2 EUR/kWh"}, **top}


def test_parse_request_units_and_defaults():
    req = parse_request(body({"device": "b", "soc-at-start": "0.05 MWh", "soc-max": "80 kWh",
                              "soc-min": "10%", "power-capacity": "0.01 MW",
                              "roundtrip-efficiency": 0.81},
                             {"consumption-price": "290 EUR/MWh",
                              "site-consumption-breach-price": "1 EUR/W"}))
    d, c = req.devices[0], req.context
    assert (d.soc_at_start_kwh, d.soc_max_kwh, d.soc_min_kwh) == (50.0, 80.0, 8.0)
    assert d.power_capacity_kw == 10.0 and d.roundtrip_efficiency == 0.81
    assert d.prefer_charging_sooner and d.prefer_curtailing_later
    assert c.consumption_price == pytest.approx(0.29)
    assert c.site_consumption_breach_price == pytest.approx(1000.0)
    assert c.relax_constraints is True and c.production_price is None
    assert req.n_steps == 16 and req.resolution == pd.Timedelta("15min")


def test_parse_request_series_sensor_and_soc_unit():
    req = parse_request(body(
        {"sensor": 7, "soc-unit": "MWh", "soc-at-start": 0.02, "power-capacity": "5 kW",
         "soc-targets": [{"datetime": "2026-06-01T03:00:00-04:00", "value": 0.03}]},
        {"consumption-price": {"sensor": 3},
         "inflexible-consumption": [[{"start": START, "duration": "PT4H", "value": "3 kW"}]]}))
    d = req.devices[0]
    assert d.name == "sensor 7" and d.soc_at_start_kwh == 20.0
    (_, _, v), = d.soc_targets
    assert v == 30.0
    assert req.context.consumption_price == SensorRef(3, "flex-context.consumption-price")
    (series,) = req.context.inflexible_consumption
    assert series[0][2] == 3.0


def test_parse_request_extends_window_to_latest_target():
    req = parse_request(body({"device": "ev", "soc-at-start": "0 kWh", "power-capacity": "7 kW",
                              "soc-targets": [{"datetime": "2026-06-01T06:10:00-04:00",
                                               "value": "20 kWh"}]}))
    assert req.end == pd.Timestamp("2026-06-01T06:15:00-04:00")


@pytest.mark.parametrize(("request_body", "message"), [
    (body({"device": "b", "soc-maxx": "5 kWh", "power-capacity": "5 kW"}),
     "flex-model[0].soc-maxx: unknown field; did you mean 'soc-max'?"),
    (body({"device": "b", "operation-modes": [], "power-capacity": "5 kW"}),
     "flex-model[0].operation-modes: a FlexMeasures field that the twin does not model"),
    (body({"device": "b", "soc-at-start": "banana"}),
     "flex-model[0].soc-at-start: expected an energy such as '12.1 kWh'"),
    (body({"device": "b", "power-capacity": 5}),
     "flex-model[0].power-capacity: write the power with its unit"),
    (body({"device": "b", "soc-min": "10%"}), "needs the entry's soc-max in energy units"),
    (body({"device": "b", "roundtrip-efficiency": "120%"}), "must be in (0, 100%]"),
    (body(ctx={"production-price": "0.1 EUR/kWh"}), "flex-context.consumption-price: is required"),
    (body(ctx={"consumption-price": "0.2 EUR/kW"}), "unit 'EUR/kW' is not a price unit"),
    (body(ctx={"consumption-price": "0.2 EUR/kWh", "relax-constraints": "yes"}),
     "flex-context.relax-constraints: expected true or false"),
    (body(ctx={"consumption-price": "0.2 EUR/kWh", "site-power-capacity": "-5 kW"}),
     "flex-context.site-power-capacity: must be >= 0"),
    (body(resolution="PT7M"), "duration: PT4H is not a whole number of resolution steps"),
    (body(start="2026-06-01T00:00:00"), "start: must be timezone-aware"),
    ({"start": START, "flex-model": []}, "flex-model: expected a list of entries"),
    ({**body(), "flex-model": [{"device": "a", "power-capacity": "1 kW"},
                               {"device": "a", "power-capacity": "1 kW"}]},
     "device 'a' occurs more than once"),
    ({**body(), "horizon": "PT1H"}, "horizon: unknown field"),
])
def test_parse_request_errors_name_field(request_body, message):
    with pytest.raises(RequestError) as info:
        parse_request(request_body)
    assert message in str(info.value)
