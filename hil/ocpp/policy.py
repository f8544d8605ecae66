"""Default smart-charging policy of the standalone CSMS: a pure function from the
active sessions to one power limit each.

Sign convention: positive = consumption / charging / import; limits are >= 0.

For each session, with ``e`` the energy still requested and ``t`` the time left to
departure (both from NotifyEVChargingNeeds)::

    p_want = clip(e / t, 0, p_max)     when both are known and t > 0
    p_want = p_max                     otherwise (no needs, or departure passed)

With a site capacity ``P`` (the scenario's transformer rating, unity power factor)
the wants are shared max-min fair (water filling): every session gets
``min(p_want, s)`` with the level ``s`` such that the total is ``min(sum p_want, P)``.
Small wants are served in full; the rest split what remains equally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

S_PER_H = 3600.0


@dataclass(frozen=True)
class Session:
    """What the policy needs to know of one charging session.

    Attributes
    ----------
    key : str
        Session key (the station id).
    p_max_kw : float
        Most the station and EV can take. [kW]
    e_remaining_kwh : float
        Energy still requested; NaN when unknown. [kWh]
    departure_unix_s : float
        EV departure, wall clock; NaN when unknown. [s since epoch]
    """

    key: str
    p_max_kw: float
    e_remaining_kwh: float = math.nan
    departure_unix_s: float = math.nan


def wanted_kw(session: Session, now_unix_s: float) -> float:
    """Even spread of the remaining energy until departure, within [0, p_max]. [kW]"""
    e, dep = session.e_remaining_kwh, session.departure_unix_s
    if not (math.isfinite(e) and math.isfinite(dep)) or dep <= now_unix_s:
        return session.p_max_kw
    return min(max(e / ((dep - now_unix_s) / S_PER_H), 0.0), session.p_max_kw)


def share_capacity_kw(wants_kw: dict[str, float], capacity_kw: float) -> dict[str, float]:
    """Max-min fair split of ``capacity_kw`` among ``wants_kw`` (water filling). [kW]"""
    if capacity_kw < 0:
        raise ValueError(f"capacity_kw = {capacity_kw!r}: need >= 0 kW")
    if sum(wants_kw.values()) <= capacity_kw:
        return dict(wants_kw)
    out: dict[str, float] = {}
    left, todo = capacity_kw, sorted(wants_kw.items(), key=lambda kv: kv[1])
    while todo:
        level = left / len(todo)
        key, want = todo[0]
        if want <= level:
            out[key] = want
            left -= want
            todo.pop(0)
        else:
            for key, _ in todo:
                out[key] = level
            break
    return out


def plan_kw(sessions: list[Session], now_unix_s: float,
            site_capacity_kw: float | None = None) -> dict[str, float]:
    """Power limit per session key under the default policy (see module doc). [kW]"""
    wants = {s.key: wanted_kw(s, now_unix_s) for s in sessions}
    if site_capacity_kw is None:
        return wants
    return share_capacity_kw(wants, site_capacity_kw)
