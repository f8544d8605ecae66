"""The one vocabulary of the site KPIs (:func:`twin.report.kpis.compute_kpis`): per key its
label (with the unit), and its definition in words with its sign.

The report writes the definition next to each figure, the README's "KPIs" table lists
the same (a test checks every key is there). Sign convention of the series the KPIs
come from: positive = consumption / charging / import. Energies are positive
quantities named for their direction; a signed KPI says which way is positive.

Step values stand for the whole step, so energy = power x step length.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KpiDef:
    label: str  # as the report shows it, unit in brackets
    definition: str  # formula in words, with its sign


def _d(label: str, definition: str) -> KpiDef:
    return KpiDef(label, definition)


KPI_DEFS: dict[str, KpiDef] = {
    "steps": _d("Steps recorded", "number of recorded steps"),
    "simulated_hours": _d("Simulated time [h]", "steps x step length"),
    "pv_production_kwh": _d("PV production [kWh]", "AC energy the PV systems fed in, >= 0"),
    "pv_curtailed_kwh": _d("PV curtailed [kWh]",
                           "PV energy available (weather) less PV production, >= 0"),
    "household_consumption_kwh": _d("Household consumption [kWh]",
                                    "energy the households drew, >= 0"),
    "ev_charged_kwh": _d("EV energy delivered [kWh]",
                         "AC energy the chargers delivered to EVs within the run, >= 0"),
    "ev_discharged_v2g_kwh": _d("EV discharging, V2G [kWh]",
                                "AC energy EVs gave back through their chargers, >= 0"),
    "ev_sessions_completed": _d("EV sessions completed", "EV departures within the run"),
    "ev_unmet_at_departure_kwh": _d(
        "EV energy unmet at departure [kWh]",
        "sum over departed EVs of (target - energy at departure), where positive"),
    "ev_sessions_with_unmet_energy": _d("EV sessions with unmet energy",
                                        "departures that left below their target"),
    "ev_owed_kwh": _d(
        "EV energy still owed at the end [kWh]",
        "unmet at departure + the remaining need (target - stored energy, >= 0) of the EVs "
        "still on site when the run ends"),
    "ev_on_site_at_end": _d("EVs still on site at the end",
                            "EVs waiting or plugged in at the run's end with energy owed"),
    "battery_charged_kwh": _d("Battery charging [kWh]", "AC energy into the batteries, >= 0"),
    "battery_discharged_kwh": _d("Battery discharging [kWh]",
                                 "AC energy out of the batteries, >= 0"),
    "battery_losses_kwh": _d("Battery losses [kWh]",
                             "conversion and self-discharge losses, >= 0"),
    "battery_soc_min_percent": _d("Battery SoC, lowest [%]", "lowest SoC of any battery"),
    "battery_soc_max_percent": _d("Battery SoC, highest [%]", "highest SoC of any battery"),
    "battery_stored_change_kwh": _d(
        "Battery energy, end - start [kWh]",
        "stored energy at the end less at the start, summed; positive: ended fuller"),
    "grid_import_kwh": _d("Grid import [kWh]",
                          "energy drawn from the MV grid at the transformer, >= 0"),
    "grid_export_kwh": _d("Grid export [kWh]",
                          "energy fed back to the MV grid at the transformer, >= 0"),
    "grid_peak_import_kw": _d("Peak import [kW]",
                              "max(0, largest step import at the transformer)"),
    "grid_peak_export_kw": _d("Peak export [kW]",
                              "max(0, largest step export at the transformer)"),
    "feeder_losses_kwh": _d("Feeder losses (lines + transformer) [kWh]",
                            "import - net device consumption, from the power flow, >= 0"),
    "self_consumption_ratio": _d(
        "Self-consumption of PV [-]",
        "(PV production - export) / PV production, clipped to [0, 1]; 0 without PV"),
    "self_sufficiency_ratio": _d(
        "Site self-sufficiency [-]",
        "local supply used on site / energy used on site = (PV production - export) / "
        "(PV production + import - export), clipped to [0, 1]. Energy used on site = "
        "households + EV net + battery net charging + feeder losses: losses count as use, "
        "a battery's net charge over the run counts as use, its net discharge lowers it"),
    "vm_min_pu": _d("Lowest bus voltage [pu]", "lowest bus voltage of any converged step"),
    "vm_max_pu": _d("Highest bus voltage [pu]", "highest bus voltage of any converged step"),
    "hours_outside_voltage_limits": _d("Time outside voltage limits [h]",
                                       "steps with any bus outside [vm_min, vm_max] x step"),
    "hours_over_loading_limit": _d("Time over loading limit [h]",
                                   "steps with any line or the transformer over the loading "
                                   "limit x step"),
    "trafo_loading_max_percent": _d("Transformer loading, max [%]",
                                    "largest apparent power / rating of the transformer"),
    "line_loading_max_percent": _d("Line loading, max [%]",
                                   "largest current / rated current of any line"),
    "limit_episodes_count": _d("Limit episodes",
                               "runs of consecutive steps with one element outside a limit"),
    "power_flow_nonconverged_steps": _d("Power flows not converged [steps]",
                                        "steps whose AC power flow did not converge"),
    "energy_balance_residual_max_kwh": _d(
        "Energy balance residual, max [kWh]",
        "largest |import - devices - losses| x step: 0 up to rounding"),
    "forecast_mae_kw": _d("Forecast error of households + PV, MAE [kW]",
                          "mean |forecast - realised| of the plan in force"),
    "forecast_rmse_kw": _d("Forecast error of households + PV, RMSE [kW]",
                           "root mean square of (forecast - realised)"),
    "forecast_bias_kw": _d("Forecast error of households + PV, bias [kW]",
                           "mean (forecast - realised); positive: over-forecast"),
    "plan_power_rmse_kw": _d("Realised against planned device power, RMSE [kW]",
                             "root mean square of (realised - planned power), all devices"),
    "plan_energy_max_error_kwh": _d("Realised against planned stored energy, max error [kWh]",
                                    "largest |realised - planned stored energy|"),
    "cost_eur": _d("Energy cost, import - feed-in [EUR]",
                   "sum of import x import price - export x feed-in price"),
    "service_price_eur_per_kwh": _d("Service price [EUR/kWh]",
                                    "time-weighted mean import price over the run: the "
                                    "price of stored and owed energy"),
    "same_service_cost_eur": _d(
        "Cost for the same service [EUR]",
        "cost - service price x battery stored change + service price x EV energy owed"),
    "co2_kg": _d("CO2 of imports [kg]", "import x the tariff's CO2 intensity"),
}

KPI_LABELS: dict[str, str] = {k: d.label for k, d in KPI_DEFS.items()}
