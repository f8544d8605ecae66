"""The twin's live state as a FlexMeasures trigger body: flex-model and flex-context.

What the strategy asks the scheduler is exactly what it would send a FlexMeasures
server (``POST /assets/<id>/schedules/trigger``), so any backend can answer it and the
body can be saved and replayed with ``python run.py schedule``. Sign convention:
positive = consumption / charging.

Per battery (device = its asset id):
``soc-at-start`` (its stored energy now), ``soc-min`` / ``soc-max`` (its SoC window),
``consumption-capacity`` / ``production-capacity`` (charge / discharge limits) and
``power-capacity`` (the larger), ``charging-efficiency`` / ``discharging-efficiency``,
``storage-efficiency`` (the self-discharge per step) and ``soc-minima`` at the end of
the plan and at the end of the run (when inside the plan): the battery's initial
energy, so a plan does not sell what it cannot buy back (FlexMeasures' usual guard
against a rolling horizon's end effect; soft at ``soc-minima-breach-price``).

Per charger with an EV plugged in (device = the charger's id): the EV's energy as
``soc-at-start``, its limits as ``soc-min`` / ``soc-max``, ``soc-minima`` at departure
(its target, or what the charger can still deliver before then), the charger's rating
as ``consumption-capacity`` until departure and 0 after, as ``production-capacity`` the
same when the EV allows V2G (else 0), and the EV's efficiencies. Chargers without an
EV, or whose EV leaves within the step, are not in the request (their setpoint is 0).

Flex-context: ``consumption-price`` (the tariff), ``production-price`` (feed-in), the
forecast of the inflexible site (households + PV) as one ``inflexible-consumption``
series (negative when PV exceeds load), and the transformer rating as
``site-production-capacity`` and, less the room the feeder's losses take at that import
(``SiteModel.import_to_device_kw``, from :func:`simulators.feeder.model.loss_estimate`),
as ``site-consumption-capacity`` (both soft with relax-constraints, priced at
FlexMeasures' default breach price): the plan's net device consumption is what the
feeder carries, the transformer also carries the losses.

Overrides from the scenario (``scheduling.flex_model`` by asset id or by kind
``battery`` / ``ev_charger``, and ``scheduling.flex_context``) are FlexMeasures fields in
FlexMeasures' forms; they replace what the strategy derives, except ``soc-minima`` and
``soc-maxima``, which are added to its own. ``soc-at-start`` and the inflexible series
come from the twin and cannot be overridden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from agents.scheduling.flex_fields import parse_context, parse_device
from agents.scheduling.flex_model import RequestError
from agents.scheduling.quantities import QuantityError
from twin.timeparse import iso_duration

KINDS = ("battery", "ev_charger")
FIXED_DEVICE_FIELDS = ("soc-at-start", "device", "sensor")
FIXED_CONTEXT_FIELDS = ("inflexible-consumption", "inflexible-production")
ADDED_FIELDS = ("soc-minima", "soc-maxima")


def q(value: float, unit: str) -> str:
    """A quantity string FlexMeasures reads back to the same float, e.g. '12.5 kWh'."""
    return f"{float(value)!r} {unit}"


def series(start: pd.Timestamp, resolution: pd.Timedelta, values, unit: str) -> list[dict]:
    """Step values as FlexMeasures' ``[{start, duration, value}]``, equal runs merged."""
    values = np.asarray(values, dtype=float)
    cuts = np.flatnonzero(np.diff(values) != 0) + 1
    bounds = np.concatenate(([0], cuts, [len(values)])).tolist()
    t0, step, tz = start.value, resolution.value, start.tzinfo
    step_s = resolution.total_seconds()
    return [{"start": _iso_at(t0 + a * step, tz), "duration": _iso_duration((b - a) * step_s),
             "value": q(values[a], unit)} for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@lru_cache(maxsize=8192)
def _iso_at(ns: int, tz) -> str:
    """The instant ``ns`` (UTC nanoseconds) in ``tz`` as ISO 8601 text: a re-plan's series
    repeat most of the last one's instants."""
    return pd.Timestamp(ns, tz=tz).isoformat()


_iso_duration = lru_cache(maxsize=1024)(iso_duration)


@dataclass
class SiteModel:
    """Static facts of the site the strategy plans (scenario specs, in kW / kWh)."""

    battery_ids: list[str]
    batteries: list  # scenario BatterySpec entries
    charger_ids: list[str]
    charger_p_max_kw: np.ndarray
    charger_v2g: np.ndarray
    step_s: int
    site_capacity_kw: float | None = None
    run_end: pd.Timestamp | None = None
    flex_model: dict[str, dict] = field(default_factory=dict)
    flex_context: dict = field(default_factory=dict)
    # net device consumption whose import, losses included, is the given limit [kW -> kW]
    import_to_device_kw: Callable[[float], float] | None = None

    def device_limit_kw(self, import_limit_kw: float) -> float:
        """The site's device-side limit for an import limit at the transformer. [kW]"""
        if self.import_to_device_kw is None:
            return float(import_limit_kw)
        return float(self.import_to_device_kw(float(import_limit_kw)))

    def overrides(self, kind: str, asset_id: str) -> dict:
        return {**self.flex_model.get(kind, {}), **self.flex_model.get(asset_id, {})}


def _merge(entry: dict, extra: dict) -> dict:
    out = dict(entry)
    for key, value in extra.items():
        if key in ADDED_FIELDS and isinstance(out.get(key), list) and isinstance(value, list):
            out[key] = out[key] + value
        else:
            out[key] = value
    return out


def battery_entry(site: SiteModel, i: int, e_kwh: float, start: pd.Timestamp,
                  end: pd.Timestamp) -> dict:
    b = site.batteries[i]
    per_step = (1.0 - b.self_discharge_percent_per_day / 100.0) ** (site.step_s / 86400.0)
    keep = b.capacity_kwh * b.soc_initial_percent / 100.0
    ends = [end] + ([site.run_end] if site.run_end is not None and start < site.run_end < end
                    else [])
    entry = {
        "device": site.battery_ids[i],
        "soc-at-start": q(e_kwh, "kWh"),
        "soc-min": q(b.capacity_kwh * b.soc_min_percent / 100.0, "kWh"),
        "soc-max": q(b.capacity_kwh * b.soc_max_percent / 100.0, "kWh"),
        "power-capacity": q(max(b.p_charge_max_kw, b.p_discharge_max_kw), "kW"),
        "consumption-capacity": q(b.p_charge_max_kw, "kW"),
        "production-capacity": q(b.p_discharge_max_kw, "kW"),
        "charging-efficiency": b.eta_charge,
        "discharging-efficiency": b.eta_discharge,
        "storage-efficiency": per_step,
        "soc-minima": [{"datetime": t.isoformat(), "value": q(keep, "kWh")} for t in ends],
    }
    return _merge(entry, site.overrides("battery", site.battery_ids[i]))


def charger_entry(site: SiteModel, j: int, ev: dict, start: pd.Timestamp,
                  end: pd.Timestamp, elapsed_s: float) -> dict | None:
    """The charger with its plugged EV; None when no EV stays beyond this step."""
    if not np.isfinite(ev["departure_s"]):
        return None
    res = pd.Timedelta(seconds=site.step_s)
    steps_left = int(np.floor((ev["departure_s"] - elapsed_s) / site.step_s))
    if steps_left <= 0:
        return None
    departure = start + steps_left * res
    p_max = float(site.charger_p_max_kw[j])
    e, eta_c = float(ev["e_kwh"]), float(ev["eta_charge"])

    def until_departure(value_kw: float) -> str | list[dict]:
        if departure >= end or value_kw == 0.0:
            return q(value_kw, "kW")
        return [{"start": start.isoformat(), "end": departure.isoformat(),
                 "value": q(value_kw, "kW")},
                {"start": departure.isoformat(), "end": end.isoformat(), "value": q(0.0, "kW")}]

    entry = {
        "device": site.charger_ids[j],
        "soc-at-start": q(e, "kWh"),
        "soc-min": q(min(ev["e_min_kwh"], e), "kWh"),
        "soc-max": q(max(ev["e_max_kwh"], e), "kWh"),
        "power-capacity": q(p_max, "kW"),
        "consumption-capacity": until_departure(p_max),
        "production-capacity": until_departure(p_max if site.charger_v2g[j] else 0.0),
        "charging-efficiency": eta_c,
        "discharging-efficiency": float(ev["eta_discharge"]),
    }
    if departure <= end:  # the target, or what can still be reached, at departure
        reach = min(ev["e_target_kwh"], e + p_max * eta_c * steps_left * site.step_s / 3600.0,
                    ev["e_max_kwh"])
        entry["soc-minima"] = [{"datetime": departure.isoformat(),
                                "value": q(max(reach, ev["e_min_kwh"]), "kWh")}]
    return _merge(entry, site.overrides("ev_charger", site.charger_ids[j]))


def request_body(site: SiteModel, start: pd.Timestamp, elapsed_s: float,
                 battery_e_kwh: np.ndarray, charger_ev: dict[str, np.ndarray],
                 inflexible_kw: np.ndarray, price: np.ndarray, feed_in: np.ndarray,
                 site_consumption_kw: np.ndarray | None = None) -> dict:
    """The trigger body for a plan from ``start`` over ``len(inflexible_kw)`` steps.

    ``elapsed_s`` is the time since the run's start (EV departures count from it);
    ``charger_ev`` holds, per charger, the plugged EV's ``departure_s``, ``e_kwh``,
    ``e_min_kwh``, ``e_max_kwh``, ``e_target_kwh``, ``eta_charge``, ``eta_discharge``.
    ``site_consumption_kw``, per step, replaces the constant site import capacity (grid
    operator limits).
    """
    res = pd.Timedelta(seconds=site.step_s)
    n = len(inflexible_kw)
    end = start + n * res
    entries = [battery_entry(site, i, e, start, end) for i, e in enumerate(battery_e_kwh)]
    for j in range(len(site.charger_ids)):
        ev = {key: values[j] for key, values in charger_ev.items()}
        entry = charger_entry(site, j, ev, start, end, elapsed_s)
        if entry is not None:
            entries.append(entry)
    context = {
        "consumption-price": series(start, res, price, "EUR/kWh"),
        "production-price": series(start, res, feed_in, "EUR/kWh"),
        "inflexible-consumption": [series(start, res, inflexible_kw, "kW")],
    }
    if site.site_capacity_kw is not None:
        context["site-consumption-capacity"] = q(site.device_limit_kw(site.site_capacity_kw),
                                                 "kW")
        context["site-production-capacity"] = q(site.site_capacity_kw, "kW")
    if site_consumption_kw is not None:
        context["site-consumption-capacity"] = series(start, res, site_consumption_kw, "kW")
    context.update(site.flex_context)
    return {"start": start.isoformat(), "duration": iso_duration((end - start).total_seconds()),
            "resolution": iso_duration(site.step_s), "flex-model": entries, "flex-context": context}


def check_overrides(flex_model: dict, flex_context: dict) -> None:
    """Scenario overrides in FlexMeasures' forms; raises ValueError naming the field."""
    for key, fields in flex_model.items():
        where = f"flex_model.{key}"
        if not isinstance(fields, dict):
            raise ValueError(f"{where}: expected a mapping of FlexMeasures flex-model fields, "
                             f"got {fields!r}")
        for name in FIXED_DEVICE_FIELDS:
            if name in fields:
                raise ValueError(f"{where}.{name}: comes from the twin's live state and "
                                 "cannot be overridden")
        probe = {"device": key, "soc-max": "100 kWh", **fields}  # % SoC needs a soc-max
        _probe(parse_device, (probe, 0), f"{where}.")
    for name in FIXED_CONTEXT_FIELDS:
        if name in flex_context:
            raise ValueError(f"flex_context.{name}: comes from the twin's forecasts and "
                             "cannot be overridden")
    _probe(parse_context, ({"consumption-price": "0 EUR/kWh", **flex_context},), "")


def _probe(parse, args: tuple, prefix: str) -> None:
    try:
        parse(*args)
    except (RequestError, QuantityError) as exc:
        msg = str(exc).replace("flex-model[0].", "").replace("flex-context.", "flex_context.")
        raise ValueError(prefix + msg) from None
