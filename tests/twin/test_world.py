"""One simulated day of the baseline through mosaik: physical invariants and determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twin.report.kpis import asset_ids, columns, site_powers_kw
from twin.results import read_events, read_timeseries
from twin.runner import run_scenario
from twin.scenario.loading import load_scenario

BASELINE = "scenarios/martinique_baseline.yaml"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    scenario = load_scenario(BASELINE)
    result = run_scenario(scenario, quiet=True, root=tmp_path_factory.mktemp("day"))
    assert result.status == "completed", result.error
    return scenario, result, read_timeseries(result.run_dir), read_events(result.run_dir)


def test_run_day_writes_every_output(day):
    scenario, result, ts, _ = day
    for name in ("scenario.yaml", "provenance.json", "kpis.json", "report.html"):
        assert (result.run_dir / name).is_file(), name
    assert len(ts) == scenario.n_steps == 96
    assert (ts["t_s"].diff().dropna() == scenario.step_s).all()
    assert ts.index[0] == pd.Timestamp("2026-06-01T00:00:00-04:00")


def test_run_day_every_power_flow_converges(day):
    _, result, ts, _ = day
    assert (ts["grid.converged"] == 1).all()
    assert result.kpis["power_flow_nonconverged_steps"] == 0


def test_run_day_energy_balance_closes_every_step(day):
    scenario, _, ts, _ = day
    p = site_powers_kw(scenario, ts)
    residual_kwh = p["residual"].abs() * scenario.step_s / 3600
    assert residual_kwh.max() < 1e-6
    # the balance is not trivially zero: every device class moves energy
    for name in ("pv", "load", "battery", "ev", "loss"):
        assert p[name].abs().sum() > 1.0, name


def test_run_day_battery_soc_within_limits(day):
    scenario, _, ts, _ = day
    soc = columns(ts, asset_ids(scenario), "battery", "soc_percent")
    specs = scenario.assets.resolved("battery")
    lo = np.array([s.soc_min_percent for s in specs])
    hi = np.array([s.soc_max_percent for s in specs])
    # self-discharge alone may sink an idle battery at soc_min by a hair
    assert (soc.to_numpy() >= lo - 1e-3).all() and (soc.to_numpy() <= hi + 1e-9).all()
    assert soc.to_numpy().std() > 0.1  # the batteries were used


def test_run_day_battery_energy_accounting(day):
    scenario, _, ts, _ = day
    ids = asset_ids(scenario)
    e = columns(ts, ids, "battery", "e_kwh").to_numpy()
    p = columns(ts, ids, "battery", "p_kw").to_numpy()
    loss = columns(ts, ids, "battery", "e_loss_kwh").to_numpy()
    de = np.diff(e, axis=0)  # e is end-of-step energy
    np.testing.assert_allclose(de, p[1:] * scenario.step_s / 3600 - loss[1:], atol=1e-9)


def test_run_day_ev_soc_within_limits_and_sessions_balance(day):
    scenario, result, ts, events = day
    ids = asset_ids(scenario)
    soc = columns(ts, ids, "ev", "soc_percent").to_numpy()
    assert soc.min() >= 10.0 - 1e-9 and soc.max() <= 100.0 + 1e-9
    dep = events[events["kind"] == "departure"]
    assert len(dep) > 0
    assert (dep["session_e_unmet_kwh"] >= 0).all()
    charged = columns(ts, ids, "ev_charger", "p_kw").sum().sum() * scenario.step_s / 3600
    assert charged == pytest.approx(result.kpis["ev_charged_kwh"], rel=1e-9)
    assert charged > dep["session_e_delivered_kwh"].sum()  # plus sessions still ongoing


def test_run_day_ev_events_fall_between_steps(day):
    scenario, _, _, events = day
    t = events["t_s"].to_numpy(dtype=float)
    inside = t[(t % scenario.step_s) != 0]
    assert len(inside) > 5  # arrivals and departures keep their own instants


def test_run_day_ev_charges_from_its_plug_in_instant(day):
    scenario, _, ts, events = day
    step = scenario.step_s
    plug = events[(events["kind"] == "plug_in") & (events["t_s"] % step > 0)]
    assert len(plug) > 0
    for _, e in plug.iterrows():
        k = int(e["t_s"] // step)
        fraction = (step * (k + 1) - e["t_s"]) / step  # part of the step the EV was plugged
        p_kw = ts[f"{e['charger']}.p_kw"].iloc[k]
        if ts[f"{e['ev']}.soc_percent"].iloc[k] >= 100.0 - 1e-9:  # full before the step ended
            assert 0.0 < p_kw < 22.0 * fraction
        else:
            assert p_kw == pytest.approx(22.0 * fraction, rel=1e-9)


def test_run_day_voltages_plausible(day):
    _, _, ts, _ = day
    vm = ts[[c for c in ts.columns if c.startswith("vm_pu_bus.")]]
    assert vm.shape[1] == 25
    assert 0.9 < vm.min().min() < 1.0 < vm.max().max() < 1.1


def test_run_same_seed_same_results(day, tmp_path):
    scenario, _, ts, events = day
    again = run_scenario(scenario, quiet=True, root=tmp_path)
    pd.testing.assert_frame_equal(read_timeseries(again.run_dir), ts)
    pd.testing.assert_frame_equal(read_events(again.run_dir), events)


def test_run_other_seed_other_results(day, tmp_path):
    scenario, _, ts, _ = day
    other = scenario.model_copy(update={"seed": scenario.seed + 1})
    result = run_scenario(other, quiet=True, root=tmp_path)
    assert not read_timeseries(result.run_dir)["grid.p_import_kw"].equals(ts["grid.p_import_kw"])


def test_run_weak_feeder_records_nonconverged_steps(tmp_path):
    # 800 m cable sections: the evening EV peak collapses the voltage at the feeder ends
    scenario = load_scenario(BASELINE, ["grid.line_length_m=800"])
    result = run_scenario(scenario, quiet=True, root=tmp_path)
    assert result.status == "completed"
    ts = read_timeseries(result.run_dir)
    bad = ts["grid.converged"] == 0
    assert 0 < bad.sum() == result.kpis["power_flow_nonconverged_steps"] < len(ts)
    assert ts.loc[bad, "grid.p_import_kw"].isna().all()
    assert ts.loc[~bad, "vm_pu_bus.f1_b8"].notna().all()
    assert result.kpis["hours_outside_voltage_limits"] > 0  # the converged steps show it
    assert "did not converge" in (result.run_dir / "report.html").read_text()


def test_run_with_measured_weather_csv(day, tmp_path):
    scenario, result, ts, _ = day
    inputs = pd.read_parquet(result.run_dir / "inputs.parquet")  # weather at step midpoints
    frame = inputs[["ghi_w_per_m2", "temp_air_c"]].copy()
    frame["ghi_w_per_m2"] *= 0.5  # a duller day than the synthetic one
    frame.index = frame.index.tz_convert("UTC") + pd.Timedelta(seconds=scenario.step_s / 2)
    csv = tmp_path / "measured.csv"
    frame.rename_axis("timestamp").reset_index().to_csv(csv, index=False)
    measured = load_scenario(BASELINE, [f"weather={{source: csv, path: {csv}}}"])
    out = run_scenario(measured, quiet=True, root=tmp_path)
    assert out.status == "completed"
    pv_synthetic = result.kpis["pv_production_kwh"]
    assert 0.3 * pv_synthetic < out.kpis["pv_production_kwh"] < 0.7 * pv_synthetic


def test_run_full_detail_records_every_output(tmp_path):
    scenario = load_scenario(BASELINE, ["duration=PT2H", "outputs.detail=full",
                                        "outputs.report=false"])
    result = run_scenario(scenario, quiet=True, root=tmp_path)
    ts = read_timeseries(result.run_dir)
    for column in ("battery_03.p_charge_avail_kw", "ev_charger_00.p_charge_avail_kw",
                   "ev_04.charger", "pv_00.p_limit_kw", "load_12.q_kvar"):
        assert column in ts.columns, column
    assert len(ts) == 8 and not (result.run_dir / "report.html").exists()


@pytest.mark.parametrize("overrides", [
    ["duration=PT15M"],
    ["duration=PT1H", "step=PT1M"],
    ["duration=P1D", "step=PT1H"],
    ["duration=PT6H"] + [f"assets.{k}={{count: 0}}" for k in ("pv", "battery", "ev_charger", "ev")],
])
def test_run_edge_scenarios_balance(tmp_path, overrides):
    scenario = load_scenario(BASELINE, overrides)
    result = run_scenario(scenario, quiet=True, root=tmp_path)
    assert result.status == "completed" and result.kpis["steps"] == scenario.n_steps
    assert result.kpis["energy_balance_residual_max_kwh"] < 1e-6
    assert result.kpis["power_flow_nonconverged_steps"] == 0
    assert (result.run_dir / "report.html").is_file()
