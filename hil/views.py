"""What the twin sees of a HIL device: its latest measurement as the attributes of the
simulator it replaces, given the watchdog's state. Pure functions, no I/O.

Sign convention: positive = consumption / charging / import.

- ``fresh``: the measurement as read;
- ``hold``: the last measurement, but no flexibility offered (the controller must not
  count on a device it cannot hear);
- ``fallback``: the device is assumed in its safe state, zero power, no flexibility.
"""

from __future__ import annotations

import math

import numpy as np

NAN = float("nan")
LINK_STATES = {"fresh": 0, "hold": 1, "fallback": 2}


def value(values: dict | None, key: str, default: float = NAN) -> float:
    """One measured value (``default`` where the device gave none)."""
    if not values:
        return default
    v = values.get(key)
    return default if v is None else float(v)


def pv_view(values: dict | None, state: str) -> dict[str, float]:
    """A PV inverter: measured AC power (<= 0) stands for the available power too."""
    p = 0.0 if state == "fallback" else value(values, "p_kw", 0.0)
    limit = value(values, "p_limit_kw", math.inf)
    return {"p_kw": p, "p_avail_kw": p, "p_limit_kw": limit}


def battery_view(values: dict | None, state: str, spec) -> dict[str, float]:
    """A battery; SoC and energy fill each other in from the spec's capacity."""
    cap = value(values, "capacity_kwh", spec.capacity_kwh)
    soc = value(values, "soc_percent")
    e = value(values, "e_kwh")
    if math.isnan(e) and not math.isnan(soc):
        e = cap * soc / 100.0
    if math.isnan(soc) and not math.isnan(e):
        soc = 100.0 * e / cap
    flexible = state == "fresh"
    return {
        "p_kw": 0.0 if state == "fallback" else value(values, "p_kw", 0.0),
        "soc_percent": soc, "e_kwh": e,
        "p_charge_avail_kw": value(values, "p_charge_avail_kw", spec.p_charge_max_kw)
        if flexible else 0.0,
        "p_discharge_avail_kw": value(values, "p_discharge_avail_kw", spec.p_discharge_max_kw)
        if flexible else 0.0,
    }


def charger_view(values: dict | None, state: str, ev_spec, now_s: float, now_unix_s: float,
                 rt_factor: float) -> dict[str, float]:
    """An OCPP charging station and the EV plugged in (NaN EV attributes when none).

    The EV's departure arrives as wall-clock time; in simulated seconds it is
    ``now_s + (departure_unix_s - now_unix_s) / rt_factor``. Its stored energy comes
    from the reported SoC and the paired scenario EV's capacity.
    """
    plugged = value(values, "plugged", 0.0) >= 0.5 and state != "fallback"
    out = {
        "p_kw": 0.0 if state == "fallback" else value(values, "p_kw", 0.0),
        "plugged": 1.0 if plugged else 0.0,
        "p_charge_avail_kw": value(values, "p_charge_avail_kw", 0.0)
        if plugged and state == "fresh" else 0.0,
        "p_discharge_avail_kw": value(values, "p_discharge_avail_kw", 0.0)
        if plugged and state == "fresh" else 0.0,
    }
    ev = dict.fromkeys(("ev_departure_s", "ev_e_kwh", "ev_e_min_kwh", "ev_e_max_kwh",
                        "ev_e_target_kwh", "ev_eta_charge", "ev_eta_discharge"), NAN)
    if plugged and ev_spec is not None:
        cap = ev_spec.capacity_kwh
        soc = value(values, "soc_percent")
        e = cap * (soc if not math.isnan(soc) else ev_spec.soc_initial_percent) / 100.0
        e_max = cap * ev_spec.soc_max_percent / 100.0
        request = value(values, "ev_e_request_kwh")
        target = cap * ev_spec.soc_target_percent / 100.0 if math.isnan(request) \
            else e + request
        dep_unix = value(values, "ev_departure_unix_s")
        departure = now_s + (dep_unix - now_unix_s) / rt_factor if not math.isnan(dep_unix) \
            else NAN
        ev.update(ev_departure_s=max(departure, now_s) if not math.isnan(departure) else NAN,
                  ev_e_kwh=e, ev_e_min_kwh=cap * ev_spec.soc_min_percent / 100.0,
                  ev_e_max_kwh=e_max, ev_e_target_kwh=min(target, e_max),
                  ev_eta_charge=ev_spec.eta_charge, ev_eta_discharge=ev_spec.eta_discharge)
    out.update(ev)
    out["e_kwh"] = ev["ev_e_kwh"]
    return out


def charger_prediction_kw(row: dict, values: dict | None, step_s: float,
                          age_s: float = 0.0, rt_factor: float = 1.0) -> float:
    """What a station should draw this step for its setpoint: the setpoint, within what
    the EV can take (its power limit, and the energy it still asks for over the step).
    The request is the one of the last meter sample, ``age_s`` wall seconds old, less
    what the station drew since (:func:`energy_since_sample_kwh`)."""
    if row["plugged"] < 0.5:
        return 0.0
    p = min(max(row["p_set_kw"], 0.0), row["p_charge_avail_kw"])
    request = value(values, "ev_e_request_kwh")
    if not math.isnan(request):
        left = request - energy_since_sample_kwh(values, age_s, rt_factor)
        p = min(p, max(left, 0.0) * 3600.0 / step_s)
    return p


def energy_since_sample_kwh(values: dict | None, age_s: float, rt_factor: float) -> float:
    """Energy a station drew since its last meter sample, ``age_s`` wall seconds ago:
    the power it reported over the (simulated) time since, but not more than its EV
    still asked for then (an EV that fills up in between stops drawing). [kWh]"""
    if math.isnan(age_s):
        return 0.0
    e = max(value(values, "p_kw", 0.0), 0.0) * (age_s / rt_factor) / 3600.0
    request = value(values, "ev_e_request_kwh")
    return e if math.isnan(request) else min(e, max(request, 0.0))


def metered_energy_kwh(values: dict | None, age_s: float, rt_factor: float) -> float:
    """A station's session energy at the moment of reading: the last meter register plus
    :func:`energy_since_sample_kwh`. Without it the reading would depend on where the
    samples fall against the step's start. [kWh]"""
    e = value(values, "e_session_kwh")
    if math.isnan(e) or math.isnan(age_s):
        return e
    return e + energy_since_sample_kwh(values, age_s, rt_factor)


def load_view(values: dict | None, state: str, spec) -> dict[str, float]:
    """A metered household: its power, reactive power from the spec's power factor."""
    p = 0.0 if state == "fallback" else value(values, "p_kw", 0.0)
    tan_phi = math.tan(math.acos(spec.power_factor))
    return {"p_kw": p, "q_kvar": p * tan_phi}


def paired_ev_asset(assets: dict, charger_id: str):
    """The EV asset that goes with a charger: the scenario EV of the same index, else the
    first EV, else None (as the station emulator pairs them)."""
    chargers = [a.id for a in assets["ev_charger"]]
    evs = assets["ev"]
    if not evs:
        return None
    i = chargers.index(charger_id)
    return evs[i] if i < len(evs) else evs[0]


def paired_ev(assets: dict, charger_id: str):
    """The spec of :func:`paired_ev_asset` (None without EVs)."""
    ev = paired_ev_asset(assets, charger_id)
    return None if ev is None else ev.spec


def held_setpoint(state: str, requested_kw: float, last_safe_kw: float) -> float:
    """The setpoint to send: the request when fresh, the last safe one while holding,
    zero (the safe state) after the hold."""
    if state == "fresh":
        return requested_kw
    if state == "hold":
        return last_safe_kw
    return 0.0


def signal_at(windows: list, t_s: float, attr: str) -> float:
    """The grid signal in force at ``t_s``: the tightest ``site_limit_kw`` or the latest
    ``price_eur_per_kwh`` of the windows ``[start_s, end_s, limit, price]`` (NaN: none)."""
    col = 2 if attr == "site_limit_kw" else 3
    values = [w[col] for w in windows if w[0] <= t_s < w[1] and w[col] is not None]
    if not values:
        return NAN
    return float(min(values)) if col == 2 else float(values[-1])


def event_record(constraint, start_s: float, end_s: float) -> dict:
    """An OpenADR event interval for the record: its window in simulated seconds, the
    signal, the limit [kW] or price [EUR/kWh] and whether the site opted in."""
    c = constraint
    return {"event_id": c.event_id, "signal": c.signal, "start_s": start_s, "end_s": end_s,
            "site_limit_kw": c.site_limit_kw, "price_eur_per_kwh": c.price_eur_per_kwh,
            "level": c.level, "opted_in": bool(c.opted_in)}


def site_flexibility(site_kw: float, battery_p_kw, battery_discharge_kw, charger_p_kw
                     ) -> tuple[float, float]:
    """The site's inflexible import and the import reduction its storage can make, for
    the VEN's opt decision: batteries can go from their power to full discharge, EV
    chargers down to zero. [kW, kW >= 0]"""
    bat = np.nan_to_num(np.asarray(battery_p_kw, dtype=float))
    dis = np.nan_to_num(np.asarray(battery_discharge_kw, dtype=float))
    ev = np.clip(np.nan_to_num(np.asarray(charger_p_kw, dtype=float)), 0.0, None)
    inflexible = float(site_kw - bat.sum() - ev.sum())
    return inflexible, float(max(0.0, (bat + dis).sum() + ev.sum()))


def lag_s(wall_elapsed_s: float, sim_time_s: float, rt_factor: float) -> float:
    """How far the run is behind the wall clock: positive = late. [wall s]"""
    return wall_elapsed_s - sim_time_s * rt_factor


def as_array(rows: list[dict[str, float]], attr: str) -> np.ndarray:
    return np.array([r[attr] for r in rows], dtype=float)
