"""Quantity strings and time series in FlexMeasures' forms (agents.scheduling.quantities)."""

from __future__ import annotations

import pandas as pd
import pytest

from agents.scheduling.quantities import (
    ENERGY,
    FRACTION_DIM,
    POWER,
    PRICE,
    QuantityError,
    parse_quantity,
    parse_series,
)


@pytest.mark.parametrize(("value", "dim", "default", "expected"), [
    ("25 kW", POWER, "kW", 25.0),
    ("0.025 MW", POWER, "kW", 25.0),
    ("1500W", POWER, "kW", 1.5),
    (0.5, POWER, "MW", 500.0),
    ("12.1 kWh", ENERGY, "kWh", 12.1),
    ("0.0121 MWh", ENERGY, "kWh", 12.1),
    ("90%", FRACTION_DIM, "", 0.9),
    (0.9, FRACTION_DIM, "", 0.9),
    ("0.29 EUR/kWh", PRICE, "EUR/kWh", 0.29),
    ("290 EUR/MWh", PRICE, "EUR/kWh", 0.29),
    ("-40 EUR/MWh", PRICE, "EUR/kWh", -0.04),
    ("1e3 kW", POWER, "kW", 1000.0),
])
def test_parse_quantity_units(value, dim, default, expected):
    assert parse_quantity(value, dim, "field", default) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("value", "dim", "message"), [
    ("25 kWh", POWER, "unit 'kWh' is not a power unit; write e.g. '25 kW'"),
    ("lots", ENERGY, "expected an energy such as '12.1 kWh'"),
    ("0.29 XYZ/kWh", PRICE, "not a price unit"),
    (True, FRACTION_DIM, "expected a fraction"),
])
def test_parse_quantity_rejects_with_field_and_form(value, dim, message):
    with pytest.raises(QuantityError, match="^soc-max: ") as info:
        parse_quantity(value, dim, "soc-max", "kWh")
    assert message in str(info.value)


def test_parse_series_start_end_duration_and_instant():
    items = [
        {"start": "2026-06-01T00:00:00-04:00", "end": "2026-06-01T06:00:00-04:00",
         "value": "0.15 EUR/kWh"},
        {"start": "2026-06-01T06:00:00-04:00", "duration": "PT12H", "value": 0.21},
        {"datetime": "2026-06-01T18:00:00-04:00", "value": "246 EUR/MWh"},
    ]
    out = parse_series(items, PRICE, "consumption-price", "EUR/kWh")
    t0 = pd.Timestamp("2026-06-01T00:00:00-04:00")
    assert out[0] == (t0, t0 + pd.Timedelta(hours=6), 0.15)
    assert out[1][1] == t0 + pd.Timedelta(hours=18) and out[1][2] == 0.21
    assert out[2][0] == out[2][1] and out[2][2] == pytest.approx(0.246)


@pytest.mark.parametrize(("items", "message"), [
    ("0.2", "expected a list"),
    ([{"start": "2026-06-01T00:00:00", "value": 1}], "[0].start: must be timezone-aware"),
    ([{"start": "2026-06-01T00:00:00Z"}], "[0].value: is required"),
    ([{"start": "2026-06-01T00:00:00Z", "end": "2026-06-01T01:00:00Z", "duration": "PT1H",
       "value": 1}], "give end or duration, not both"),
    ([{"start": "2026-06-01T02:00:00Z", "end": "2026-06-01T01:00:00Z", "value": 1}],
     "is before start"),
    ([{"start": "2026-06-01T00:00:00Z", "value": 1, "stop": 3}], "unknown key(s) ['stop']"),
    ([{"start": "2026-06-01T00:00:00Z", "duration": "P1M", "value": 1}], "[0].duration:"),
])
def test_parse_series_rejects(items, message):
    with pytest.raises(QuantityError) as info:
        parse_series(items, POWER, "site-power-capacity", "kW")
    assert message in str(info.value)
