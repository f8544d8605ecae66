"""The ``server`` scheduling backend against a real FlexMeasures server.

One FlexMeasures web process and scheduling worker serve the whole module, on a fresh
PostgreSQL database and Redis database number (see :mod:`tests.agents.scheduling.fm_server_fixture`).
Skipped where FlexMeasures or flexmeasures-client is not installed; fails if
PostgreSQL (127.0.0.1:5432) or Redis (127.0.0.1:6379) is not running.
Sign convention: positive = consumption / charging; powers in kW.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from agents.scheduling.fm_server import ServerConfig, ServerError, schedule_on_server
from tests import REPO
from tests.agents.scheduling.fm_server_fixture import running_flexmeasures

ROOT = REPO

pytest.importorskip("flexmeasures")
pytest.importorskip("flexmeasures_client")
pytestmark = [pytest.mark.service, pytest.mark.flexmeasures]

START = "2026-06-01T00:00:00-04:00"  # America/Martinique
DT_H = 0.25
CHEAP_THEN_EXPENSIVE = [
    {"start": START, "duration": "PT2H", "value": "0.10 EUR/kWh"},
    {"start": "2026-06-01T02:00:00-04:00", "duration": "PT2H", "value": "0.40 EUR/kWh"},
]
TOL_KW = 1e-3


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    with running_flexmeasures(tmp_path_factory.mktemp("flexmeasures")) as srv:
        failed = request.session.testsfailed
        yield srv
        if request.session.testsfailed > failed:
            reporter = request.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(srv.log_tails())


def battery_request(device: str, **context) -> dict:
    """A 4 h request at PT15M for one battery, prices cheap then expensive (net metering)."""
    return {
        "start": START, "duration": "PT4H", "resolution": "PT15M",
        "flex-model": [{"device": device, "soc-at-start": "20 kWh", "soc-min": "10 kWh",
                        "soc-max": "60 kWh", "power-capacity": "20 kW",
                        "roundtrip-efficiency": "90%"}],
        "flex-context": {"consumption-price": CHEAP_THEN_EXPENSIVE,
                         "production-price": CHEAP_THEN_EXPENSIVE, **context},
    }


def soc_kwh(p_kw: np.ndarray, soc_start_kwh: float, roundtrip: float) -> np.ndarray:
    """State of charge after each step; FlexMeasures splits the roundtrip efficiency
    evenly between charging and discharging."""
    eta = np.sqrt(roundtrip)
    return soc_start_kwh + np.cumsum(np.where(p_kw > 0, p_kw * eta, p_kw / eta) * DT_H)


def test_battery_charges_cheap_and_discharges_expensive(server):
    got = schedule_on_server(battery_request("battery arbitrage"), server.asset_id,
                             server.config())
    assert set(got) == {"battery arbitrage"}
    schedule = got["battery arbitrage"]
    assert schedule["unit"] == "kW"
    assert pd.Timestamp(schedule["start"]) == pd.Timestamp(START)
    p_kw = np.asarray(schedule["values"])
    assert p_kw.shape == (16,)
    assert np.all(np.abs(p_kw) <= 20 + TOL_KW)
    assert np.all(p_kw[:8] >= -TOL_KW) and p_kw[:8].sum() > 1  # charges while cheap
    assert np.all(p_kw[8:] <= TOL_KW) and p_kw[8:].sum() < -1  # discharges while dear
    soc = soc_kwh(p_kw, 20, 0.9)
    assert soc.min() >= 10 - 1e-2 and soc.max() <= 60 + 1e-2


def test_ev_reaches_its_target_at_departure(server):
    body = {
        "start": START, "duration": "PT4H",
        "flex-model": [{"device": "ev departing 03:00", "soc-at-start": "10 kWh",
                        "soc-min": "0 kWh", "soc-max": "75 kWh",
                        "soc-targets": [{"datetime": "2026-06-01T03:00:00-04:00",
                                         "value": "40 kWh"}],
                        "power-capacity": "11 kW", "production-capacity": "0 kW",
                        "charging-efficiency": "100%"}],
        "flex-context": {"consumption-price": "0.29 EUR/kWh",
                         "production-price": "0.29 EUR/kWh"},
    }
    got = schedule_on_server(body, server.asset_id, server.config())
    p_kw = np.asarray(got["ev departing 03:00"]["values"])
    assert p_kw.shape == (16,)
    assert np.all(p_kw >= -TOL_KW) and np.all(p_kw <= 11 + TOL_KW)  # no V2G
    assert 10 + p_kw[:12].sum() * DT_H == pytest.approx(40, abs=1e-2)  # by 03:00


def test_inline_inflexible_consumption_is_uploaded_and_limits_the_battery(server):
    load = [{"start": START, "duration": "PT4H", "value": "3 kW"}]
    alone = schedule_on_server(battery_request("battery alone", **{"site-power-capacity":
                                                                   "5 kW"}),
                               server.asset_id, server.config())["battery alone"]["values"]
    loaded = schedule_on_server(
        battery_request("battery with load", **{"site-power-capacity": "5 kW",
                                                "inflexible-consumption": [load]}),
        server.asset_id, server.config())["battery with load"]["values"]
    # site flow p + 3 kW within +-5 kW: the battery may discharge 8 kW, charge only 2 kW
    assert min(alone) >= -5 - TOL_KW and max(alone) <= 5 + TOL_KW
    assert max(loaded) <= 2 + TOL_KW and min(loaded) >= -8 - TOL_KW
    assert min(loaded) < -5 - 1  # the load is served from the battery at the dear hours
    assert stored(server, "cariflex inflexible consumption 0") == [3.0] * 16


def test_inline_inflexible_production_counts_as_production(server):
    # 4 kW produced on site under +-5 kW: the battery may discharge only 1 kW
    body = battery_request("battery with pv", **{"site-power-capacity": "5 kW",
                                                 "inflexible-production": ["4 kW"]})
    p_kw = schedule_on_server(body, server.asset_id, server.config())["battery with pv"]["values"]
    assert min(p_kw) >= -1 - TOL_KW and min(p_kw) < -0.5
    assert stored(server, "cariflex inflexible production 0") == [4.0] * 16


def test_malformed_flex_model_names_the_field(server):
    body = battery_request("battery banana")
    body["flex-model"][0]["soc-at-start"] = "banana"
    with pytest.raises(ServerError, match=r"trigger.*HTTP 422.*soc-at-start.*banana"):
        schedule_on_server(body, server.asset_id, server.config())


def test_bad_credentials_name_authentication(server):
    config = dataclasses.replace(server.config(), password="not-the-password")
    with pytest.raises(ServerError, match=r"authentication as .* HTTP 401.*password"):
        schedule_on_server(battery_request("battery"), server.asset_id, config)


def test_unknown_asset_names_the_asset_lookup(server):
    with pytest.raises(ServerError, match=r"asset lookup.*9999.*HTTP 422"):
        schedule_on_server(battery_request("battery"), 9999, server.config())


def test_config_from_env_names_missing_variables(monkeypatch):
    for var in ("FLEXMEASURES_URL", "FLEXMEASURES_EMAIL", "FLEXMEASURES_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FLEXMEASURES_URL", "http://127.0.0.1:5000")
    with pytest.raises(ServerError, match="FLEXMEASURES_EMAIL, FLEXMEASURES_PASSWORD"):
        ServerConfig.from_env()


def stored(server, sensor_name: str) -> list[float]:
    """The kW values the server holds for the asset's sensor of that name over 4 h."""
    from flexmeasures_client import FlexMeasuresClient

    async def fetch():
        host = server.url.removeprefix("http://")
        client = FlexMeasuresClient(email=server.email, password=server.password, host=host)
        try:
            sensors = await client.get_sensors(asset_id=server.asset_id,
                                               parse_json_fields=True)
            sid = next(s["id"] for s in sensors if s["name"] == sensor_name)
            data = await client.get_sensor_data(sid, START, "PT4H", unit="kW",
                                                resolution="PT15M")
            return data["values"]
        finally:
            await client.close()

    return asyncio.run(fetch())


def _renamed(body: dict, prefix: str) -> dict:
    """The same request with device names of its own (sensors are made per name)."""
    body = json.loads(json.dumps(body))
    for entry in body["flex-model"]:
        entry["device"] = f"{prefix} {entry['device']}"
    return body


@pytest.mark.parametrize("case", ["example", "random-3", "random-7", "random-12"])
def test_server_and_builtin_reach_the_same_cost(server, case):
    """FlexMeasures' own StorageScheduler (on the server) against the twin's reading of
    the same request: both schedules, costed alike, cost the same."""
    from agents.scheduling.backends import solve
    from agents.scheduling.flex_model import parse_request
    from tests.agents.scheduling.fm_requests import random_request

    if case == "example":
        body = json.loads((ROOT / "examples" / "schedule_request.json").read_text())
    else:
        body = random_request(int(case.split("-")[1]), n=16)
    req = parse_request({**_renamed(body, case), "asset": server.asset_id})
    ours = solve(req, "builtin")
    theirs = solve(req, "server", server=server.config())
    assert theirs.power_kw.shape == ours.power_kw.shape
    scale = max(1.0, abs(ours.costs["total_eur"]))
    for kind in ("energy_eur", "peak_eur", "preference_eur"):
        assert abs(theirs.costs[kind] - ours.costs[kind]) <= 1e-6 * scale, (theirs.costs,
                                                                            ours.costs)
    # the server stores schedules rounded (to 1e-6 MW), so a schedule that sits exactly on
    # a site limit priced at 10000 EUR/kW can come back a hair over it
    assert abs(theirs.costs["breach_eur"] - ours.costs["breach_eur"]) <= 1e-2
