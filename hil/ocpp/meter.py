"""OCPP 2.0.1 meter values to and from the twin's attributes, and an EV's charging needs
from them.

Sign convention: positive = consumption / charging / import. ``Power.Active.Import``
[W] becomes ``p_kw``, ``Energy.Active.Import.Register`` [Wh] ``register_kwh``,
``SoC`` [%] ``soc_percent``. Payload keys here are snake_case, as the ``ocpp``
package hands them to handlers and takes them in calls.
"""

from __future__ import annotations

import math

from hil.ocpp.rpc import iso_utc, kw_to_amps

# unit -> factor to the twin's unit (kW, kWh, %)
_TO_TWIN = {"W": 1e-3, "kW": 1.0, "Wh": 1e-3, "kWh": 1.0, "Percent": 1.0}
_DEFAULT_UNIT = {"Power.Active.Import": "W", "Energy.Active.Import.Register": "Wh",
                 "SoC": "Percent"}
_KEYS = {"Power.Active.Import": "p_kw", "Energy.Active.Import.Register": "register_kwh",
         "SoC": "soc_percent"}


def meter_value(t_unix_s: float, p_kw: float, register_kwh: float,
                soc_percent: float | None, context: str = "Sample.Periodic") -> dict:
    """One MeterValueType: power [W], energy register [Wh] and, if known, SoC [%]."""
    sampled = [
        {"value": round(p_kw * 1000.0, 1), "measurand": "Power.Active.Import",
         "context": context, "unit_of_measure": {"unit": "W"}},
        {"value": round(register_kwh * 1000.0, 1), "measurand": "Energy.Active.Import.Register",
         "context": context, "unit_of_measure": {"unit": "Wh"}},
    ]
    if soc_percent is not None and math.isfinite(soc_percent):
        sampled.append({"value": round(soc_percent, 1), "measurand": "SoC", "context": context,
                        "location": "EV", "unit_of_measure": {"unit": "Percent"}})
    return {"timestamp": iso_utc(t_unix_s), "sampled_value": sampled}


def read_meter(meter_values: list[dict] | None) -> dict[str, float]:
    """The twin's values in a list of MeterValueType (snake_case keys); later samples
    win; per-phase values are skipped (the twin wants totals)."""
    out: dict[str, float] = {}
    for mv in meter_values or []:
        for sv in mv.get("sampled_value", []):
            measurand = sv.get("measurand", "Energy.Active.Import.Register")
            if measurand not in _KEYS or sv.get("phase"):
                continue
            uom = sv.get("unit_of_measure") or {}
            unit = uom.get("unit", _DEFAULT_UNIT[measurand])
            factor = _TO_TWIN.get(unit)
            if factor is None:
                continue
            out[_KEYS[measurand]] = float(sv["value"]) * 10.0 ** uom.get("multiplier", 0) * factor
    return out


def charging_needs(e_request_kwh: float, p_ev_max_kw: float, departure_unix_s: float) -> dict:
    """The ``charging_needs`` of a NotifyEVChargingNeeds (snake_case) for an AC
    three-phase EV asking for ``e_request_kwh`` [kWh] by ``departure_unix_s`` [s since
    the epoch, UTC] at most at ``p_ev_max_kw`` [kW] (sent as a current, 6 A minimum)."""
    return {
        "requested_energy_transfer": "AC_three_phase",
        "departure_time": iso_utc(departure_unix_s),
        "ac_charging_parameters": {
            "energy_amount": int(round(e_request_kwh * 1000.0)),
            "ev_min_current": 6, "ev_max_current": int(round(kw_to_amps(p_ev_max_kw))),
            "ev_max_voltage": 400}}
