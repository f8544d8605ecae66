"""The standalone CSMS with a scenario whose strategy is FlexMeasures scheduling: the
connected EVs are planned together as FlexMeasures storage devices, and each station's
limit is its plan's first step.

Sign convention: positive = consumption / charging / import; limits are >= 0.

Per session with known needs (from NotifyEVChargingNeeds): a device that starts empty,
may store the energy requested (``soc-max``), must hold it at the departure tick
(``soc-minima``) and charges at most at the station's and EV's limit; the flex-context
is the scenario's time-of-use tariff from now to the latest departure (at most a day)
and its transformer rating as site capacity. The built-in FlexMeasures scheduler
(HiGHS) solves it, so an EV charges when energy is cheapest before it leaves. Sessions
without needs, or already past their departure, get their full power (as the default
policy gives them), within what the site has left.
"""

from __future__ import annotations

import math

import pandas as pd

from agents.scheduling.backends import solve
from agents.scheduling.flex_model import parse_request
from hil.ocpp.policy import Session, plan_kw
from twin.inputs import import_price_eur_per_kwh

MAX_HORIZON_S = 86_400.0


def _q(value: float, unit: str) -> str:
    return f"{value:.6g} {unit}"


def schedule_request(sessions: list[Session], now_unix_s: float, scenario,
                     resolution_s: int) -> dict | None:
    """The FlexMeasures trigger body for the sessions with needs, or None if none."""
    tz = scenario.site.timezone
    res = pd.Timedelta(seconds=resolution_s)
    start = pd.Timestamp(now_unix_s, unit="s", tz="UTC").tz_convert(tz).floor(res)
    planned = [s for s in sessions if math.isfinite(s.e_remaining_kwh)
               and math.isfinite(s.departure_unix_s) and s.departure_unix_s > now_unix_s
               and s.e_remaining_kwh > 0]
    if not planned:
        return None
    last = min(max(s.departure_unix_s for s in planned), now_unix_s + MAX_HORIZON_S)
    n = max(1, math.ceil((pd.Timestamp(last, unit="s", tz="UTC") - start) / res))
    times = pd.date_range(start, periods=n, freq=res)
    price = import_price_eur_per_kwh(times, scenario.tariff)
    entries = []
    for s in planned:
        ticks = int((s.departure_unix_s - start.timestamp()) // resolution_s)
        entry = {"device": s.key, "soc-at-start": "0 kWh",
                 "soc-max": _q(s.e_remaining_kwh, "kWh"), "soc-min": "0 kWh",
                 "power-capacity": _q(s.p_max_kw, "kW"),
                 "consumption-capacity": _q(s.p_max_kw, "kW"), "production-capacity": "0 kW"}
        if 1 <= ticks <= n:
            entry["soc-minima"] = [{"datetime": (start + ticks * res).isoformat(),
                                    "value": _q(s.e_remaining_kwh, "kWh")}]
        entries.append(entry)
    context = {
        "consumption-price": [{"start": t.isoformat(), "duration": f"PT{resolution_s}S",
                               "value": _q(p, "EUR/kWh")} for t, p in zip(times, price,
                                                                          strict=True)],
        "production-price": _q(scenario.tariff.feed_in_price_eur_per_kwh, "EUR/kWh"),
        "site-consumption-capacity": _q(float(scenario.grid.trafo_sn_kva), "kW"),
    }
    return {"start": start.isoformat(), "duration": f"PT{n * resolution_s}S",
            "resolution": f"PT{resolution_s}S", "flex-model": entries, "flex-context": context}


def scheduled_kw(sessions: list[Session], now_unix_s: float, scenario,
                 resolution_s: int | None = None) -> dict[str, float]:
    """Power limit per session key: the FlexMeasures plan's first step for sessions with
    needs, full power (shared within the site capacity) for the others. [kW]"""
    resolution_s = resolution_s or scenario.step_s
    body = schedule_request(sessions, now_unix_s, scenario, resolution_s)
    out: dict[str, float] = {}
    if body is not None:
        result = solve(parse_request(body), "builtin")
        out = {name: float(max(result.power_kw[i, 0], 0.0))
               for i, name in enumerate(result.names)}
    rest = [s for s in sessions if s.key not in out]
    capacity = float(scenario.grid.trafo_sn_kva) - sum(out.values())
    out.update(plan_kw(rest, now_unix_s, max(capacity, 0.0)))
    return {s.key: min(out[s.key], s.p_max_kw) for s in sessions}
