"""The loopback scenario, as CI runs it: every emulator on this machine (two SunSpec
devices over Modbus TCP, two OCPP 2.0.1 stations, the OpenADR VTN) started by the run,
driven by the FlexMeasures strategy, 60x faster than real time (about 2.5 min)."""

import json
import shutil

import numpy as np
import pytest

from hil.origin import read_origin
from twin.cli.main import main
from twin.report.hil.realised import realised
from twin.report.hil.section import EXIT_HIL_FAILED, print_verdict
from twin.report.records import run_kpis
from twin.results import read_events, read_timeseries, write_scenario
from twin.runner import run_scenario
from twin.scenario.loading import load_scenario

LOOPBACK = "scenarios/hil_loopback.yaml"
# the loopback in 30 simulated minutes, with EVs that fill up and leave within it: the
# moments (a fill-up mid-step, a departure) where the meter samples' phase used to count
SHORT = ["--set", "duration=PT30M", "--set", "hil.ev_dwell=PT20M",
         "--set", "assets.ev.defaults.soc_initial_percent=76"]

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


def test_loopback_revalidated_with_an_impossible_tolerance_fails(loopback, tmp_path, capsys):
    """The recorded run through ``run.py report``'s path (run_kpis) with p_rmse_kw 0.001:
    FAIL in validation.json and exit code 3 from the verdict."""
    _, result, _ = loopback
    run_dir = shutil.copytree(result.run_dir, tmp_path / "run")
    tight = load_scenario(LOOPBACK, ["hil.tolerances.p_rmse_kw=0.001"])
    _, _, hil = run_kpis(tight, run_dir, read_timeseries(run_dir), read_events(run_dir))
    assert hil["pass"] is False
    assert print_verdict(run_dir) == EXIT_HIL_FAILED == 3
    out = capsys.readouterr().out
    assert "HIL validation: FAIL" in out and out.count("FAIL ") >= 3  # bat and stations
    assert "PASS pv_hil" in out  # 0.3 W RMSE: within even 1 W

    # run.py report on the folder gates the same way: 0 as recorded, 3 once tightened
    assert main(["report", str(run_dir)]) == 0
    write_scenario(run_dir, tight)
    assert main(["report", str(run_dir)]) == EXIT_HIL_FAILED


def test_loopback_delay_from_samples_and_openadr_compliance(loopback):
    _, result, ts = loopback
    record = json.loads((result.run_dir / "hil" / "validation.json").read_text())
    for d in record["devices"]:
        if d["kind"] in ("battery", "ev_charger"):
            assert d["tracking_delay_from"] == "samples"
            assert d["tracking_delay_resolution_s"] < 30  # 4 samples a step or more
            assert d["tracking_delay_median_s"] < 60  # no longer a whole step
    events = {e["event_id"]: e for e in record["openadr"]}
    dispatch = events["loopback-dispatch"]
    assert dispatch["opted_in"] and dispatch["site_limit_kw"] == 20.0
    inside = (np.arange(len(ts)) * 60.0 >= dispatch["start_s"]) & \
        (np.arange(len(ts)) * 60.0 < dispatch["end_s"])
    p = ts["grid.p_import_kw"].to_numpy()[inside]
    assert dispatch["import_max_kw"] == pytest.approx(p.max())
    assert dispatch["e_over_limit_kwh"] == pytest.approx(
        sum(max(0.0, x - 20.0) for x in p) / 60.0)
    assert events["loopback-price"]["price_eur_per_kwh"] == 0.35
    page = (result.run_dir / "report.html").read_text()
    assert "OpenADR events and compliance" in page and "loopback-dispatch" in page


def test_loopback_evs_soc_from_the_stations(loopback):
    scenario, result, ts = loopback
    out, _ = realised(scenario, ts, read_events(result.run_dir))
    assert out["ev_00.soc_percent"].max() >= 79.0 and out["ev_01.soc_percent"].max() >= 79.0


def test_short_loopback_twice_agrees_and_exits_3(tmp_path):
    """Two runs, same scenario and seed: exit 3 with an impossible tolerance, and the
    same metrics within the README's tolerance (0.1 kW RMSE, 0.5 kW largest error, one
    sample interval of tracking delay)."""
    records = []
    for i in range(2):
        code = main([LOOPBACK, *SHORT, "--set", "hil.tolerances.p_rmse_kw=0.001", "--quiet",
                     "--out", str(tmp_path / str(i))])
        assert code == 3
        (path,) = (tmp_path / str(i)).glob("*/*/hil/validation.json")
        records.append({d["asset_id"]: d for d in json.loads(path.read_text())["devices"]})
    a, b = records
    for aid in ("evc_hil_1", "evc_hil_2", "bat_hil"):
        assert abs(a[aid]["p_rmse_kw"] - b[aid]["p_rmse_kw"]) <= 0.1, aid
        assert abs(a[aid]["p_max_error_kw"] - b[aid]["p_max_error_kw"]) <= 0.5, aid
        assert a[aid]["pass"] == b[aid]["pass"]
        step = max(a[aid]["tracking_delay_resolution_s"], b[aid]["tracking_delay_resolution_s"])
        assert abs(a[aid]["tracking_delay_s"] - b[aid]["tracking_delay_s"]) <= step, aid
