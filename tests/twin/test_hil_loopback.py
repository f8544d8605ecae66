"""The loopback scenario, as CI runs it: every emulator on this machine (two SunSpec
devices over Modbus TCP, two OCPP 2.0.1 stations, the OpenADR VTN) started by the run,
driven by the FlexMeasures strategy, 60x faster than real time (about 2.5 min)."""

import json

import numpy as np
import pytest

from hil.origin import read_origin
from twin.loading import load_scenario
from twin.results import read_timeseries
from twin.runner import run_scenario

pytestmark = [pytest.mark.slow, pytest.mark.service]


@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    scenario = load_scenario("scenarios/hil_loopback.yaml")
    result = run_scenario(scenario, quiet=True, root=tmp_path_factory.mktemp("loopback"))
    return scenario, result, read_timeseries(result.run_dir)


def test_loopback_runs_and_every_device_passes(loopback):
    scenario, result, ts = loopback
    assert result.status == "completed", result.error
    assert len(ts) == scenario.n_steps
    record = json.loads((result.run_dir / "hil" / "validation.json").read_text())
    verdicts = {d["asset_id"]: (d["pass"], d["failed"]) for d in record["devices"]}
    assert verdicts == {a: (True, []) for a in ("pv_hil", "bat_hil", "evc_hil_1", "evc_hil_2")}
    assert result.kpis["hil_pass"] is True
    assert "fallback" not in record["faults_by_kind"]
    assert record["lag"]["lag_max_s"] < 2.0  # paced at 60x without falling behind
    # the run handed its time origin to the emulators once connected; the first step
    # is on time, however long the processes took to start
    origin = read_origin(result.run_dir / "hil" / "emulators" / "origin")
    assert origin is not None and ts["clock.lag_s"].iloc[0] < 0.5


def test_loopback_battery_follows_the_strategy_over_modbus(loopback):
    _, _, ts = loopback
    req, meas = ts["bat_hil.p_req_kw"].to_numpy(), ts["bat_hil.p_meas_kw"].to_numpy()
    assert req.max() > 20 and req.min() < -10  # the plan charges and discharges it
    np.testing.assert_allclose(meas[2:], req[1:-1], atol=0.5)  # one step later
    soc = ts["bat_hil.soc_meas_percent"]
    assert soc.max() > 64.0  # 65 kWh by 10:30, read from the device's SunSpec map


def test_loopback_kpis_balance_on_the_measurements(loopback):
    _, result, _ = loopback
    k = result.kpis
    # the power flow ran on the measured powers, and so do the KPIs
    assert k["energy_balance_residual_max_kwh"] < 1e-6
    stored = k["battery_charged_kwh"] - k["battery_discharged_kwh"] - k["battery_losses_kwh"]
    assert stored == pytest.approx(k["battery_stored_change_kwh"], abs=1e-6)
    throughput = k["battery_charged_kwh"] + k["battery_discharged_kwh"]
    assert 0.02 * throughput < k["battery_losses_kwh"] < 0.1 * throughput  # eta 0.96 each way


def test_loopback_stations_charge_their_evs_by_departure(loopback):
    _, result, ts = loopback
    for station in ("evc_hil_1", "evc_hil_2"):
        assert ts[f"{station}.p_req_kw"].max() > 10  # TxProfiles from the strategy
        assert ts[f"{station}.p_meas_kw"].max() > 10  # ... which the station followed
        assert ts[f"{station}.soc_meas_percent"].max() >= 79.0  # target 80 % by 11:30
        assert ts[f"{station}.plugged"].iloc[-1] == 0  # the EV left, Ended
    # the KPIs count what the stations measured, not the twin's idle prediction
    k = result.kpis
    assert k["ev_sessions_completed"] == 2 and k["ev_unmet_at_departure_kwh"] < 1.0
    metered = sum(ts[f"{s}.e_meas_kwh"].max() for s in ("evc_hil_1", "evc_hil_2"))
    assert k["ev_charged_kwh"] == pytest.approx(metered, rel=0.05)
    logs = result.run_dir / "hil" / "emulators"
    assert {p.name for p in logs.iterdir()} >= {"evc_hil_1.log", "evc_hil_2.log", "vtn.log"}


def test_loopback_ven_takes_the_grid_operators_events(loopback):
    _, result, ts = loopback
    limit, price = ts["ven.site_limit_kw"], ts["ven.price_eur_per_kwh"]
    assert (limit == 20.0).sum() >= 20 and (price == 0.35).sum() >= 20
    window = limit.notna().to_numpy()
    inside = np.flatnonzero(window)[1:]  # devices follow one step after the plan
    assert (ts["grid.p_import_kw"].to_numpy()[inside] <= 20.0 + 1.0).all()
    vtn_log = (result.run_dir / "hil" / "emulators" / "vtn.log").read_text()
    assert "registered VEN 'cariflex-site'" in vtn_log
    assert "optIn for event loopback-dispatch" in vtn_log
    assert vtn_log.count("report from cariflex-site") >= 20  # TELEMETRY_USAGE every 2 s


def test_loopback_report_shows_the_validation(loopback):
    _, result, _ = loopback
    page = (result.run_dir / "report.html").read_text()
    assert "HIL validation: PASS" in page and "hil_validation" in page
    assert (result.run_dir / "plots" / "hil_validation.png").stat().st_size > 10_000
