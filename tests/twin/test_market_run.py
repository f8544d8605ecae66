"""The P2P scenario through mosaik: trades become set-points, the power flow sees them,
money and energy balance, the gsy-e-shaped results are written, runs reproduce."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from twin.inputs import import_price_eur_per_kwh
from twin.report.kpis import asset_ids, columns, site_powers_kw
from twin.report.market.record import market_record
from twin.results import read_parts, read_timeseries
from twin.runner import run_scenario
from twin.scenario.loading import load_scenario

P2P = "scenarios/martinique_p2p.yaml"
pytestmark = pytest.mark.slow


def _run(root, *overrides):
    scenario = load_scenario(P2P, ["duration=PT8H", "start=2026-06-01T10:00:00-04:00",
                                   *overrides])
    result = run_scenario(scenario, quiet=True, root=root)
    assert result.status == "completed", result.error
    return scenario, result, read_timeseries(result.run_dir)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("p2p"))


def test_market_run_writes_trades_and_gsy_results(run):
    _, result, _ = run
    trades = read_parts(result.run_dir / "market" / "trades")
    assert len(trades) > 100
    assert set(trades["market"]) >= {"mv", "f1"}
    for name in ("kpi.json", "bills.json", "price_energy_day.json", "trade_profile.json"):
        assert json.loads((result.run_dir / "gsy" / name).read_text()), name
    assert result.kpis["market_p2p_traded_kwh"] > 10.0
    assert "Market" in (result.run_dir / "report.html").read_text()


def test_battery_and_ev_setpoints_are_their_net_trades(run):
    scenario, result, ts = run
    trades = read_parts(result.run_dir / "market" / "trades")
    trades["slot_start"] = pd.to_datetime(trades["slot_start"]).dt.tz_convert(ts.index.tz)
    dt_h = scenario.step_s / 3600.0
    ids = asset_ids(scenario)
    checked = 0
    for device in [*ids["battery"], *ids["ev_charger"]]:
        bought = trades[trades["buyer_device"] == device].groupby("slot_start")["energy_kwh"].sum()
        sold = trades[trades["seller_device"] == device].groupby("slot_start")["energy_kwh"].sum()
        net = bought.sub(sold, fill_value=0.0).reindex(ts.index, fill_value=0.0) / dt_h
        setpoint = ts[f"{device}.p_set_kw"].astype(float)
        np.testing.assert_allclose(setpoint.iloc[1:], net.iloc[1:], atol=1e-9)
        assert setpoint.iloc[0] == 0.0  # the first slot has no market
        checked += int(net.abs().sum() > 0)
    assert checked >= 10  # most batteries and chargers did trade


def test_market_run_physics_hold(run):
    scenario, result, ts = run
    assert (ts["grid.converged"] == 1).all()
    p = site_powers_kw(scenario, ts)
    assert (p["residual"].abs() * scenario.step_s / 3600).max() < 1e-6
    soc = columns(ts, asset_ids(scenario), "battery", "soc_percent").to_numpy()
    assert soc.min() >= 5.0 - 1e-3 and soc.max() <= 95.0 + 1e-9


def test_market_record_balances_energy_and_money(run):
    scenario, result, ts = run
    rec = market_record(scenario, result.run_dir, ts)
    t = rec.trades
    # energy: what the devices delivered is what came from or went to the outside
    ext_in = t[t["seller"].isin(["market_maker", "utility"])].groupby("slot_start")["energy_kwh"]
    ext_out = t[t["buyer"].isin(["market_maker", "utility"])].groupby("slot_start")["energy_kwh"]
    delivered = rec.energy.groupby("slot_start")["energy_kwh"].sum()
    net_outside = ext_in.sum().reindex(delivered.index, fill_value=0.0) \
        - ext_out.sum().reindex(delivered.index, fill_value=0.0)
    np.testing.assert_allclose(delivered, net_outside, atol=1e-9)
    # money: buyers pay what sellers receive plus the fees the markets booked
    paid = (t["energy_kwh"] * t["buyer_rate_ct_per_kwh"]).sum()
    received = (t["energy_kwh"] * t["seller_rate_ct_per_kwh"]).sum()
    assert paid - received == pytest.approx(rec.fees["fee_ct"].sum(), rel=1e-9)
    assert rec.fees["fee_ct"].sum() > 0
    # no buyer paid above the tariff plus the fees to the market maker (1.5 ct here)
    peer = t[t["market"] != "imbalance"].merge(rec.prices, on="slot_start")
    assert (peer["buyer_rate_ct_per_kwh"] <= peer["tariff_ct_per_kwh"] + 1.5 + 1e-9).all()


def test_market_run_reproduces_with_the_seed(run, tmp_path):
    _, result, _ = run
    _, again, _ = _run(tmp_path)
    a = read_parts(result.run_dir / "market" / "trades")
    b = read_parts(again.run_dir / "market" / "trades")
    pd.testing.assert_frame_equal(a, b)


def test_scheduler_flex_plans_the_storage_and_trades_the_plan(tmp_path):
    """market.flex: scheduler — FlexMeasures' storage scheduler plans each participant's
    batteries and EVs; they trade the plan and follow it, so they end the run with at
    least their initial energy (the plan's soc-minima at the run's end; more where the
    24-h plan keeps PV for the evening), unlike trading freely."""
    scenario, result, ts = _run(tmp_path, "market.flex=scheduler")
    ids = asset_ids(scenario)
    e = columns(ts, ids, "battery", "e_kwh").astype(float)
    initial = np.array([b.capacity_kwh * b.soc_initial_percent / 100.0
                        for b in scenario.assets.resolved("battery")])
    losses = columns(ts, ids, "battery", "e_loss_kwh").astype(float).sum().to_numpy()
    assert (e.iloc[-1].to_numpy() >= initial - 0.5).all()
    assert (ts[[f"{b}.p_set_kw" for b in ids["battery"]]].abs().to_numpy() > 0.1).any()
    assert losses.sum() > 0
    trades = read_parts(result.run_dir / "market" / "trades")
    assert trades["buyer_device"].isin(ids["battery"]).any()
    assert result.kpis["ev_unmet_at_departure_kwh"] < 0.5


def test_p2p_day_counts_no_self_pairs_and_saves_stored_energy_neutrally(run):
    """issue 12: self-pairs were counted as P2P trades, drained batteries as free energy,
    and saving_percent was a number over a negative base."""
    scenario, result, ts = run
    k = result.kpis
    trades = read_parts(result.run_dir / "market" / "trades")
    ext = {"market_maker", "utility"}
    between = trades[(trades["buyer"] != trades["seller"]) & ~trades["buyer"].isin(ext)
                     & ~trades["seller"].isin(ext)]
    own = trades[trades["buyer"] == trades["seller"]]
    assert own["energy_kwh"].sum() > 1.0  # the day does have them
    assert k["market_p2p_traded_kwh"] == pytest.approx(between["energy_kwh"].sum())
    assert k["market_self_supplied_kwh"] == pytest.approx(own["energy_kwh"].sum())
    bills = pd.read_csv(result.run_dir / "market" / "bills.csv", index_col="party")
    people = bills[bills["type"] != "external"]
    # the batteries' stored change at the meters is the site's, valued at the mean tariff
    assert people["stored_change_kwh"].sum() == pytest.approx(k["battery_stored_change_kwh"])
    price = float(import_price_eur_per_kwh(pd.DatetimeIndex(ts.index), scenario.tariff).mean())
    assert k["market_service_price_eur_per_kwh"] == pytest.approx(price)
    assert k["market_stored_value_eur"] == pytest.approx(price * k["battery_stored_change_kwh"])
    assert k["market_savings_eur"] == pytest.approx(
        k["market_utility_only_cost_eur"] - k["market_participants_cost_eur"]
        + k["market_stored_value_eur"])
    assert people["bought_kwh"].sum() == pytest.approx(
        between["energy_kwh"].sum() + k["market_bought_from_market_maker_kwh"]
        + k["market_imbalance_bought_kwh"])
    base = people["utility_only_ct"]
    assert people.loc[base <= 0, "saving_percent"].isna().all()
    assert people.loc[base > 0, "saving_percent"].notna().all()


def test_p2p_day_bills_reconcile_with_the_site_cost(run):
    _, result, _ = run
    k = result.kpis
    recon = pd.read_csv(result.run_dir / "market" / "reconciliation.csv", index_col="key")
    assert recon.loc["site_cost", "eur"] == pytest.approx(k["cost_eur"], abs=1e-6)
    assert abs(k["market_reconciliation_residual_eur"]) < 1e-4
    assert recon.loc["residual", "eur"] == pytest.approx(k["market_reconciliation_residual_eur"])
    assert recon.loc["participants_bills", "eur"] == pytest.approx(
        k["market_participants_cost_eur"])
