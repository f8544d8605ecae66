"""Scenario schema of hardware in the loop: backends and the hil: section."""

import pytest

from twin.scenario.errors import ScenarioError
from twin.scenario.loading import load_scenario, validate

BASE = {"name": "x", "start": "2026-06-01T00:00:00-04:00"}


def problems(data):
    with pytest.raises(ScenarioError) as info:
        validate({**BASE, **data})
    return dict(info.value.problems)


def test_backend_default_sim_and_shorthand():
    s = validate({**BASE, "assets": {"ev_charger": {"count": 2, "items": [{"backend": "ocpp"}]}}})
    chargers = s.assets.resolved("ev_charger")
    assert [c.backend.type for c in chargers] == ["ocpp", "sim"]
    assert s.is_hil and not validate(BASE).is_hil


def test_backend_must_suit_the_kind():
    p = problems({"assets": {"load": [{"backend": {"type": "modbus", "port": 1502}}]}})
    assert "modbus" in p["assets.load[0].backend.type"]
    assert "allowed: sim, mqtt" in p["assets.load[0].backend.type"]


def test_backend_fields_are_checked():
    p = problems({"assets": {"battery": [{"backend": {"type": "modbus", "port": 70000}}]}})
    assert any("port" in k for k in p)
    p = problems({"assets": {"pv": [{"backend": {"type": "modbis"}}]}})
    assert "'modbis'" in p["assets.pv[0].backend"]


def test_hil_section_checks():
    p = problems({"hil": {"rt_factor": 0}})
    assert "hil.rt_factor" in p
    p = problems({"hil": {"csms": {"tls_cert": "c.pem"}}})
    assert any("tls_key" in m for m in p.values())
    p = problems({"hil": {"openadr": {"vtn_url": "ftp://x"}}})
    assert any("vtn_url" in k for k in p)


def test_market_and_hil_do_not_mix():
    p = problems({"assets": {"battery": [{"backend": {"type": "modbus"}}]},
                  "market": {"rule": "pay_as_clear"}})
    assert any("HIL" in m for m in p.values())


def test_loopback_scenario_loads():
    s = load_scenario("scenarios/hil_loopback.yaml")
    kinds = {a.id: a.backend.type for k in ("pv", "battery", "ev_charger")
             for a in s.assets.resolved(k)}
    assert kinds == {"pv_hil": "modbus", "bat_hil": "modbus", "evc_hil_1": "ocpp",
                     "evc_hil_2": "ocpp"}
    assert s.hil.emulators and s.hil.openadr is not None and s.scheduling.strategy == "flexmeasures"
