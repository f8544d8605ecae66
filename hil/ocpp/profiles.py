"""OCPP 2.0.1 charging profiles as plain dicts (camelCase, as on the wire): the
TxProfile the CSMS sends, the rules a station checks before accepting one, the limit
a set of profiles puts in force at a time, and the composite schedule.

Pure functions, no I/O. Limits are in W (``chargingRateUnit`` ``W``); a profile in
``A`` is turned into W at :data:`hil.ocpp.rpc.V_PHASE` and ``numberPhases`` (3 when
absent). Sign convention: a limit caps the import (charging) power, positive.

Rules from OCPP 2.0.1 part 2, use case K01 (as numbered in EVerest libocpp's
profile validation):

- K01.FR.03: a TxProfile carries a ``transactionId``;
- K01.FR.16: a TxProfile's ``evseId`` is greater than 0;
- K01.FR.09 / K01.FR.33: the transaction is active on that EVSE;
- K01.FR.31: the first ``chargingSchedulePeriod`` starts at ``startPeriod`` 0;
- K01.FR.35: periods are in increasing ``startPeriod`` order;
- K01.FR.40: ``Absolute`` and ``Recurring`` profiles have a ``startSchedule``;
- K01.FR.41: ``Relative`` profiles have none (they run from the transaction start).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from hil.ocpp.rpc import V_PHASE, iso_utc, parse_unix_s

S_PER_DAY = 86_400.0
RECURRENCE_S = {"Daily": S_PER_DAY, "Weekly": 7 * S_PER_DAY}


def tx_profile(transaction_id: str, limit_w: float, profile_id: int, *,
               now_unix_s: float, duration_s: int | None = None,
               stack_level: int = 0, kind: str = "Absolute") -> dict:
    """A TxProfile holding ``limit_w`` for a transaction.

    Parameters
    ----------
    transaction_id : str
        The station's transaction id (at most 36 characters).
    limit_w : float
        Import limit, rounded to one decimal (the schema's resolution). [W]
    profile_id : int
        Profile id; a profile with the same id replaces the previous one.
    now_unix_s : float
        ``startSchedule`` of an ``Absolute`` profile. [s since epoch]
    duration_s : int, optional
        Length of the schedule; after it no limit from this profile. [s]
    kind : {"Absolute", "Relative"}
        ``Relative`` runs from the transaction start and has no ``startSchedule``.
    """
    if kind not in ("Absolute", "Relative"):
        raise ValueError(f"kind {kind!r} is not one of Absolute, Relative")
    if not math.isfinite(limit_w) or limit_w < 0:
        raise ValueError(f"limit_w = {limit_w!r}: need a finite value >= 0 W")
    schedule: dict = {
        "id": profile_id,
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": round(float(limit_w), 1)}],
    }
    if kind == "Absolute":
        schedule["startSchedule"] = iso_utc(now_unix_s)
    if duration_s is not None:
        if duration_s <= 0:
            raise ValueError(f"duration_s = {duration_s!r}: need > 0 s or None")
        schedule["duration"] = int(duration_s)
    return {
        "id": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": kind,
        "chargingSchedule": [schedule],
        "transactionId": transaction_id,
    }


def default_profile(limit_w: float, profile_id: int, *, now_unix_s: float,
                    stack_level: int = 0) -> dict:
    """A TxDefaultProfile holding ``limit_w`` for every transaction on the EVSE(s) it is
    set on, from ``now_unix_s`` on (Absolute); a TxProfile overrides it. [W]"""
    profile = tx_profile("-", limit_w, profile_id, now_unix_s=now_unix_s,
                         stack_level=stack_level)
    del profile["transactionId"]
    profile["chargingProfilePurpose"] = "TxDefaultProfile"
    return profile


def check_profile(evse_id: int, profile: dict, transactions: dict[int, str],
                  n_evse: int = 1) -> str | None:
    """Why a station rejects ``profile`` on ``evse_id`` (a short reason code, at most
    20 characters as ``statusInfo.reasonCode`` allows), or None when it is valid.

    ``transactions`` maps EVSE id to its active transaction id.
    """
    purpose = profile["chargingProfilePurpose"]
    if not 0 <= evse_id <= n_evse:
        return "UnknownEvse"
    reason = _purpose_problem(evse_id, purpose, profile, transactions)
    if reason is not None:
        return reason
    kind = profile["chargingProfileKind"]
    if kind == "Recurring" and "recurrencyKind" not in profile:
        return "NoRecurrencyKind"
    for schedule in profile["chargingSchedule"]:
        reason = _schedule_problem(schedule, kind)
        if reason is not None:
            return reason
    return None


def _purpose_problem(evse_id: int, purpose: str, profile: dict,
                     transactions: dict[int, str]) -> str | None:
    """The reason code of a profile whose ``purpose`` does not fit ``evse_id`` and its
    transaction, else None."""
    if purpose == "TxProfile":
        if evse_id <= 0:                                        # K01.FR.16
            return "TxProfileEvseId0"
        tx = profile.get("transactionId")
        if tx is None:                                          # K01.FR.03
            return "NoTransactionId"
        if transactions.get(evse_id) != tx:                     # K01.FR.09, K01.FR.33
            return "TxNotFound"
    elif "transactionId" in profile:
        return "UnexpectedTxId"
    if purpose == "ChargingStationMaxProfile" and evse_id != 0:
        return "MaxProfileEvseNot0"
    return None


def _schedule_problem(schedule: dict, kind: str) -> str | None:
    """The reason code of an invalid ``chargingSchedule`` of a profile of ``kind``, else
    None."""
    periods = schedule["chargingSchedulePeriod"]
    if periods[0]["startPeriod"] != 0:                          # K01.FR.31
        return "FirstPeriodNot0"
    starts = [p["startPeriod"] for p in periods]
    if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):  # K01.FR.35
        return "PeriodsOutOfOrder"
    if kind != "Relative" and "startSchedule" not in schedule:  # K01.FR.40
        return "NoStartSchedule"
    if kind == "Relative" and "startSchedule" in schedule:      # K01.FR.41
        return "StartScheduleGiven"
    if any(p["limit"] < 0 for p in periods):
        return "NegativeLimit"
    return None


def replace_profile(installed: list[tuple[int, dict]], evse_id: int,
                    profile: dict) -> list[tuple[int, dict]]:
    """The ``(evse id, profile)`` pairs after installing ``profile`` on ``evse_id``: it
    replaces the profile with its id, and on the same EVSE the one with its purpose,
    stack level and transaction."""
    def same(e: int, p: dict) -> bool:
        return p["id"] == profile["id"] or (
            e == evse_id and p["chargingProfilePurpose"] == profile["chargingProfilePurpose"]
            and p["stackLevel"] == profile["stackLevel"]
            and p.get("transactionId") == profile.get("transactionId"))

    return [(e, p) for e, p in installed if not same(e, p)] + [(evse_id, profile)]


def profiles_kept(installed: list[tuple[int, dict]], profile_id: int | None,
                  criteria: dict) -> list[tuple[int, dict]]:
    """The ``(evse id, profile)`` pairs a ClearChargingProfile leaves: it clears the
    profile ``profile_id``, else those matching every one of ``criteria`` given
    (``evse_id``, ``charging_profile_purpose``, ``stack_level``)."""
    def match(e: int, p: dict) -> bool:
        if profile_id is not None:
            return p["id"] == profile_id
        return (criteria.get("evse_id", e) == e
                and criteria.get("charging_profile_purpose",
                                 p["chargingProfilePurpose"]) == p["chargingProfilePurpose"]
                and criteria.get("stack_level", p["stackLevel"]) == p["stackLevel"])

    return [(e, p) for e, p in installed if not match(e, p)]


def _period_limit_w(period: dict, unit: str) -> float:
    if unit == "W":
        return float(period["limit"])
    return float(period["limit"]) * V_PHASE * period.get("numberPhases", 3)


def _schedule_start(profile: dict, schedule: dict, t_unix_s: float,
                    tx_start_unix_s: float | None) -> float | None:
    """When the schedule in force at ``t`` started, or None when it has no start yet."""
    kind = profile["chargingProfileKind"]
    if kind == "Relative":
        return tx_start_unix_s
    start = parse_unix_s(schedule["startSchedule"])
    if kind == "Recurring" and t_unix_s >= start:
        period_s = RECURRENCE_S[profile["recurrencyKind"]]
        start += math.floor((t_unix_s - start) / period_s) * period_s
    return start


def profile_limit_w(profile: dict, t_unix_s: float,
                    tx_start_unix_s: float | None = None) -> float | None:
    """The limit ``profile`` puts in force at ``t_unix_s``, or None outside it. [W]"""
    if "validFrom" in profile and t_unix_s < parse_unix_s(profile["validFrom"]):
        return None
    if "validTo" in profile and t_unix_s >= parse_unix_s(profile["validTo"]):
        return None
    schedule = profile["chargingSchedule"][0]
    start = _schedule_start(profile, schedule, t_unix_s, tx_start_unix_s)
    if start is None or t_unix_s < start:
        return None
    elapsed = t_unix_s - start
    if "duration" in schedule and elapsed >= schedule["duration"]:
        return None
    limit = None
    for period in schedule["chargingSchedulePeriod"]:
        if period["startPeriod"] <= elapsed:
            limit = _period_limit_w(period, schedule["chargingRateUnit"])
    return limit


def limit_in_force_w(profiles: Iterable[dict], t_unix_s: float,
                     tx_start_unix_s: float | None = None,
                     transaction_id: str | None = None) -> float | None:
    """The limit a set of installed profiles puts in force at ``t``, or None. [W]

    A TxProfile of the running transaction overrides the TxDefaultProfiles; within a
    purpose the highest stack level in force wins; a ChargingStationMaxProfile or an
    external constraint caps the result.
    """
    best: dict[str, tuple[int, float]] = {}
    caps: list[float] = []
    for profile in profiles:
        purpose = profile["chargingProfilePurpose"]
        if purpose == "TxProfile" and profile.get("transactionId") != transaction_id:
            continue
        limit = profile_limit_w(profile, t_unix_s, tx_start_unix_s)
        if limit is None:
            continue
        if purpose in ("ChargingStationMaxProfile", "ChargingStationExternalConstraints"):
            caps.append(limit)
        elif purpose not in best or profile["stackLevel"] > best[purpose][0]:
            best[purpose] = (profile["stackLevel"], limit)
    tx = best.get("TxProfile", best.get("TxDefaultProfile"))
    limits = caps + ([tx[1]] if tx else [])
    return min(limits) if limits else None


def _breakpoints(profile: dict, t0: float, t1: float, tx_start: float | None) -> set[float]:
    points: set[float] = set()
    for key in ("validFrom", "validTo"):
        if key in profile:
            points.add(parse_unix_s(profile[key]))
    schedule = profile["chargingSchedule"][0]
    kind = profile["chargingProfileKind"]
    if kind == "Relative":
        starts = [] if tx_start is None else [tx_start]
    else:
        base = parse_unix_s(schedule["startSchedule"])
        starts = [base]
        if kind == "Recurring":
            period_s = RECURRENCE_S[profile["recurrencyKind"]]
            k0 = max(math.floor((t0 - base) / period_s), 0)
            starts = [base + k * period_s for k in range(k0, k0 + 2 + int((t1 - t0) / period_s))]
    for start in starts:
        points.update(start + p["startPeriod"] for p in schedule["chargingSchedulePeriod"])
        if "duration" in schedule:
            points.add(start + schedule["duration"])
    return {p for p in points if t0 < p < t1}


def composite_schedule(profiles: list[dict], now_unix_s: float, duration_s: int,
                       default_w: float, tx_start_unix_s: float | None = None,
                       transaction_id: str | None = None) -> list[dict]:
    """``chargingSchedulePeriod`` list of the limit in force from now for
    ``duration_s``: ``default_w`` (the EVSE's own maximum) where no profile limits,
    else :func:`limit_in_force_w` capped by ``default_w``. Starts are whole seconds
    from ``now_unix_s``; adjacent equal limits are merged."""
    t1 = now_unix_s + duration_s
    points = {now_unix_s}
    for profile in profiles:
        points |= _breakpoints(profile, now_unix_s, t1, tx_start_unix_s)
    periods: list[dict] = []
    for t in sorted(points):
        limit = limit_in_force_w(profiles, t, tx_start_unix_s, transaction_id)
        limit_w = round(default_w if limit is None else min(limit, default_w), 1)
        start = int(math.ceil(t - now_unix_s - 1e-6))
        if periods and periods[-1]["limit"] == limit_w:
            continue
        if periods and periods[-1]["startPeriod"] == start:
            periods[-1]["limit"] = limit_w
        else:
            periods.append({"startPeriod": start, "limit": limit_w})
    return periods
