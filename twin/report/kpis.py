"""Key performance indicators of a run, from its recorded time series and EV events.

Sign convention of the inputs: positive = consumption / charging / import. KPI names
carry their unit; energies are positive quantities named for their direction
(``grid_import_kwh``, ``grid_export_kwh``, ``pv_production_kwh``).

Step values stand for the whole step ``[t, t + step)``, so energy = power * step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.inputs import import_price_eur_per_kwh
from twin.report.limits import limit_episodes
from twin.report.sections import realised_series
from twin.report.service import same_service_cost_eur, service_price_eur_per_kwh
from twin.scenario.assets import resolve_assets
from twin.scenario.schema import Scenario

END_HOURS = 1.0  # the run's last hour: where a final recharge may set a peak


def columns(frame: pd.DataFrame, ids: dict[str, list[str]], kind: str, attr: str) -> pd.DataFrame:
    """The ``<id>.<attr>`` columns of every asset of one kind (e.g. batteries' ``p_kw``)."""
    cols = [f"{i}.{attr}" for i in ids[kind] if f"{i}.{attr}" in frame.columns]
    return frame[cols].astype(float)


def asset_ids(scenario: Scenario) -> dict[str, list[str]]:
    return {kind: [a.id for a in assets] for kind, assets in resolve_assets(scenario).items()}


def site_powers_kw(scenario: Scenario, ts: pd.DataFrame) -> pd.DataFrame:
    """Per-step site powers by device class [kW] and the balance residual."""
    ids = asset_ids(scenario)
    out = pd.DataFrame(index=ts.index)
    for name, kind in [("pv", "pv"), ("load", "load"), ("battery", "battery"),
                       ("ev", "ev_charger")]:
        out[name] = columns(ts, ids, kind, "p_kw").sum(axis=1)
    out["import"] = ts["grid.p_import_kw"].astype(float)
    out["loss"] = ts["grid.p_loss_kw"].astype(float)
    devices = out[["pv", "load", "battery", "ev"]].sum(axis=1)
    out["residual"] = out["import"] - devices - out["loss"]
    return out


def _stored_change(ts: pd.DataFrame, scenario: Scenario) -> float:
    """Energy in the batteries at the end less at the start of the run: before the first
    step, from the scenario's initial SoC, or for a device its first reading
    (``<id>.e_start_kwh``, :mod:`twin.report.hil.realised`). [kWh]"""
    change = 0.0
    if not len(ts):
        return change
    for a in resolve_assets(scenario)["battery"]:
        if f"{a.id}.e_kwh" not in ts:
            continue
        start = float(ts[f"{a.id}.e_start_kwh"].iloc[0]) if f"{a.id}.e_start_kwh" in ts \
            else a.spec.capacity_kwh * a.spec.soc_initial_percent / 100.0
        change += float(ts[f"{a.id}.e_kwh"].iloc[-1]) - start
    return change


def _forecast_errors(ts: pd.DataFrame, p: pd.DataFrame) -> dict:
    """Error of the strategy's forecast of the inflexible site power (households + PV),
    as used by the plan in force at each step (NaN for strategies without forecasts)."""
    if "site.inflexible_forecast_kw" not in ts:
        return {}
    error = (ts["site.inflexible_forecast_kw"].astype(float) - (p["load"] + p["pv"])).dropna()
    if error.empty:
        return {}
    return {"forecast_mae_kw": float(error.abs().mean()),
            "forecast_rmse_kw": float(np.sqrt((error ** 2).mean())),
            "forecast_bias_kw": float(error.mean())}


def plan_devices(ids: dict) -> list[tuple[str, str]]:
    """The planned devices with the column of their realised stored energy: batteries
    their own, chargers their plugged EV's."""
    return [(d, "e_kwh") for d in ids["battery"]] + [(d, "ev_e_kwh") for d in ids["ev_charger"]]


def _plan_tracking(ts: pd.DataFrame, ids: dict) -> dict:
    """How closely the devices followed the plan in force (strategies with plans)."""
    devices = plan_devices(ids)
    if not devices or f"{devices[0][0]}.p_plan_kw" not in ts:
        return {}
    dp = np.concatenate([(ts[f"{d}.p_kw"].astype(float) - ts[f"{d}.p_plan_kw"].astype(float))
                         .to_numpy() for d, _ in devices])
    de = np.concatenate([(ts[f"{d}.{e}"].astype(float) - ts[f"{d}.e_plan_kwh"].astype(float))
                         .to_numpy() for d, e in devices])
    dp, de = dp[np.isfinite(dp)], de[np.isfinite(de)]
    return {"plan_power_rmse_kw": float(np.sqrt(np.mean(dp ** 2))) if len(dp) else float("nan"),
            "plan_energy_max_error_kwh": float(np.abs(de).max()) if len(de) else float("nan")}


def _ev_owed(ts: pd.DataFrame, ids: dict, unmet_kwh: float) -> dict:
    """EV energy still owed at the end: unmet at departure + what the EVs still on site
    at the last step need to reach their targets (``<ev>.e_owed_kwh``)."""
    owed = columns(ts, ids, "ev", "e_owed_kwh")
    last = owed.iloc[-1].fillna(0.0) if owed.size else pd.Series(dtype=float)
    return {"ev_owed_kwh": unmet_kwh + float(last.sum()),
            "ev_on_site_at_end": int((last > 1e-6).sum())}


def _local(ts: pd.DataFrame, scenario: Scenario) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ts.index).tz_convert(scenario.site.timezone)


def end_of_run_flags(scenario: Scenario, ts: pd.DataFrame, p: pd.DataFrame,
                     owed: dict) -> list[dict]:
    """End-of-run effects that move a figure: the peak import set in the run's last hour
    while the batteries charge (their run-end SoC minima), and EVs still on site with
    energy owed. Each flag names the KPIs it moves and says how."""
    flags = []
    n_end = max(1, int(round(END_HOURS * 3600 / scenario.step_s)))
    i = int(np.argmax(p["import"].to_numpy())) if len(p) else 0
    if len(p) > n_end and i >= len(p) - n_end and p["battery"].iloc[i] > 0:
        before = max(0.0, float(p["import"].iloc[:-n_end].max()))
        flags.append({
            "flag": "peak_in_last_hour", "kpis": ["grid_peak_import_kw",
                                                  "trafo_loading_max_percent"],
            "note": f"the peak import of {p['import'].iloc[i]:.1f} kW is at "
                    f"{_local(ts, scenario)[i]:%H:%M}, in the run's last hour, with the "
                    f"batteries charging {p['battery'].iloc[i]:.1f} kW (end-of-run SoC "
                    f"minima); before the last hour the peak is {before:.1f} kW"})
    if owed["ev_on_site_at_end"]:
        flags.append({
            "flag": "evs_on_site_at_end", "kpis": ["ev_charged_kwh", "ev_owed_kwh"],
            "note": f"{owed['ev_on_site_at_end']} EV(s) still on site at the end need "
                    f"{owed['ev_owed_kwh']:.1f} kWh more (EV energy still owed; not in "
                    "EV energy delivered)"})
    return flags


def _limits(scenario: Scenario, ts: pd.DataFrame, ids: dict) -> dict:
    """The run's limit episodes (:mod:`twin.report.limits`) as plain dicts, with their count."""
    g = scenario.grid
    grid_cols = [c for c in ts.columns if c == "grid.trafo_loading_percent"
                 or c.startswith(("line_loading_percent.", "vm_pu_bus."))]
    local, index = ts[grid_cols], _local(ts, scenario)  # the grid's columns only: a copy
    local.index = index
    devices = pd.concat([columns(ts, ids, kind, "p_kw") for kind in ids
                         if kind != "ev"], axis=1)
    devices.index = index
    episodes = [e.as_dict() for e in limit_episodes(
        local, scenario.step_s, g.vm_min_pu, g.vm_max_pu, g.loading_max_percent, devices)]
    return {"limit_episodes_count": len(episodes), "limit_episodes": episodes}


def energy_ratios(pv_prod: float, import_kwh: float, export_kwh: float) -> dict:
    """Self-consumption of PV and site self-sufficiency, both within [0, 1]."""
    used = pv_prod + import_kwh - export_kwh  # energy used on site, losses included
    local = pv_prod - export_kwh
    return {
        "self_consumption_ratio": float(np.clip(local / pv_prod, 0, 1)) if pv_prod > 0 else 0.0,
        "self_sufficiency_ratio": float(np.clip(local / used, 0, 1)) if used > 0 else 0.0,
    }


def _service(kpis: dict, price: np.ndarray) -> dict:
    """The service price and the cost for the same service (:mod:`twin.report.service`)."""
    service_price = service_price_eur_per_kwh(price)
    return {"service_price_eur_per_kwh": service_price,
            "same_service_cost_eur": same_service_cost_eur(kpis, service_price)}


def compute_kpis(scenario: Scenario, ts: pd.DataFrame, events: pd.DataFrame) -> dict:
    """All KPIs of a run as a flat dict of plain numbers, plus two lists of plain dicts:
    ``limit_episodes`` (:mod:`twin.report.limits`) and ``end_of_run_flags``; a HIL run's
    devices count with what they did (:func:`twin.report.sections.realised_series`)."""
    ts, events = realised_series(scenario, ts, events)
    dt_h = scenario.step_s / 3600.0
    ids = asset_ids(scenario)
    p = site_powers_kw(scenario, ts)
    g = scenario.grid
    price = import_price_eur_per_kwh(pd.DatetimeIndex(ts.index), scenario.tariff)
    imp = p["import"].clip(lower=0.0)
    exp = (-p["import"]).clip(lower=0.0)
    pv_prod = float(-p["pv"].sum() * dt_h)
    pv_avail = float(-columns(ts, ids, "pv", "p_avail_kw").sum(axis=1).sum() * dt_h)
    export_kwh = float(exp.sum() * dt_h)
    import_kwh = float(imp.sum() * dt_h)
    vm = ts[[c for c in ts.columns if c.startswith("vm_pu_bus.")]].astype(float)
    lines = ts[[c for c in ts.columns if c.startswith("line_loading_percent.")]].astype(float)
    trafo = ts["grid.trafo_loading_percent"].astype(float)
    converged = ts["grid.converged"].astype(float) == 1.0
    v_out = ((vm < g.vm_min_pu) | (vm > g.vm_max_pu)).any(axis=1) & converged
    overload = ((lines.max(axis=1) > g.loading_max_percent) | (trafo > g.loading_max_percent))
    bat_p = p["battery"]
    soc = columns(ts, ids, "battery", "soc_percent")
    departures = events[events["kind"] == "departure"] if not events.empty else events
    unmet = departures["session_e_unmet_kwh"] if "session_e_unmet_kwh" in departures else []
    unmet_kwh = float(np.nansum(unmet)) if len(unmet) else 0.0
    owed = _ev_owed(ts, ids, unmet_kwh)
    kpis = {
        "steps": int(len(ts)),
        "simulated_hours": float(len(ts) * dt_h),
        "pv_production_kwh": pv_prod,
        "pv_curtailed_kwh": pv_avail - pv_prod,
        "household_consumption_kwh": float(p["load"].sum() * dt_h),
        "ev_charged_kwh": float(p["ev"].clip(lower=0.0).sum() * dt_h),
        "ev_discharged_v2g_kwh": float((-p["ev"]).clip(lower=0.0).sum() * dt_h),
        "ev_sessions_completed": int(len(departures)),
        "ev_unmet_at_departure_kwh": unmet_kwh,
        "ev_sessions_with_unmet_energy": int((np.asarray(unmet) > 1e-6).sum()),
        **owed,
        "battery_charged_kwh": float(bat_p.clip(lower=0.0).sum() * dt_h),
        "battery_discharged_kwh": float((-bat_p).clip(lower=0.0).sum() * dt_h),
        "battery_losses_kwh": float(columns(ts, ids, "battery", "e_loss_kwh").sum().sum()),
        "battery_soc_min_percent": float(soc.min().min()) if soc.size else float("nan"),
        "battery_soc_max_percent": float(soc.max().max()) if soc.size else float("nan"),
        "battery_stored_change_kwh": _stored_change(ts, scenario),
        "grid_import_kwh": import_kwh,
        "grid_export_kwh": export_kwh,
        "grid_peak_import_kw": max(0.0, float(p["import"].max())),
        "grid_peak_export_kw": max(0.0, float((-p["import"]).max())),
        "feeder_losses_kwh": float(p["loss"].sum() * dt_h),
        **energy_ratios(pv_prod, import_kwh, export_kwh),
        "vm_min_pu": float(np.nanmin(vm.to_numpy())),
        "vm_max_pu": float(np.nanmax(vm.to_numpy())),
        "hours_outside_voltage_limits": float(v_out.sum() * dt_h),
        "hours_over_loading_limit": float(overload.sum() * dt_h),
        "trafo_loading_max_percent": float(trafo.max()),
        "line_loading_max_percent": float(np.nanmax(lines.to_numpy())),
        "power_flow_nonconverged_steps": int((~converged).sum()),
        "energy_balance_residual_max_kwh": float(p["residual"].abs().max() * dt_h),
        **_forecast_errors(ts, p),
        **_plan_tracking(ts, ids),
        "cost_eur": float((imp * price).sum() * dt_h
                          - exp.sum() * dt_h * scenario.tariff.feed_in_price_eur_per_kwh),
        "co2_kg": import_kwh * scenario.tariff.co2_g_per_kwh / 1000.0,
    }
    kpis.update(_service(kpis, price))
    kpis.update(_limits(scenario, ts, ids))
    kpis["end_of_run_flags"] = end_of_run_flags(scenario, ts, p, owed)
    return kpis
