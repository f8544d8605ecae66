"""Comparisons on the same service: what each side delivered, and its cost for it.

Every comparison the twin prints (a strategy against the rule-based baseline, one
clearing rule against another, a participant against its utility-only bill) puts
beside the cost what each side delivered, and states a **cost for the same service**:

    same_service_cost_eur = cost_eur
                            - service_price_eur_per_kwh * battery_stored_change_kwh
                            + service_price_eur_per_kwh * ev_owed_kwh

The stored-energy change is worth what it would cost to buy (a run that drains its
batteries has spent energy it did not pay for; one that fills them has bought energy
for later), and EV energy still owed at the end (unmet at departure, plus the remaining
need of EVs still plugged in when the run ends) is worth what it would cost to deliver.
Both are valued at one stated price for every side: ``service_price_eur_per_kwh``, the
time-weighted mean import price over the run. PV curtailed is shown, not valued: its
effect is already in the cost.

Sign convention: positive = consumption / charging / import; a positive stored change
means the batteries ended fuller than they started.

A verdict says "cheaper for the same service" only when every service figure of the two
sides agrees within ``SERVICE_TOLERANCE_KWH`` + ``SERVICE_TOLERANCE_FRACTION`` of the
larger magnitude; otherwise it names what differs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SERVICE_TOLERANCE_KWH = 1.0
SERVICE_TOLERANCE_FRACTION = 0.01

# (KPI key, label): the service each side delivered, in the order a table shows them
SERVICE_KPIS: list[tuple[str, str]] = [
    ("ev_charged_kwh", "EV energy delivered [kWh]"),
    ("ev_owed_kwh", "EV energy still owed at the end [kWh]"),
    ("battery_stored_change_kwh", "Battery energy, end - start [kWh]"),
    ("pv_curtailed_kwh", "PV curtailed [kWh]"),
]


@dataclass(frozen=True)
class Difference:
    """One service figure on which two sides differ beyond the tolerance."""

    key: str
    label: str
    a: float
    b: float

    @property
    def delta(self) -> float:
        return self.a - self.b


def service_tolerance_kwh(a: float, b: float) -> float:
    """The tolerance within which two service figures count as the same. [kWh]"""
    return SERVICE_TOLERANCE_KWH + SERVICE_TOLERANCE_FRACTION * max(abs(a), abs(b))


def service_price_eur_per_kwh(price_per_step_eur_per_kwh: Sequence[float]) -> float:
    """The one stated price of every comparison: the time-weighted mean import price
    over the run's steps (all of equal length); 0 for a run with no steps. [EUR/kWh]"""
    prices = [float(p) for p in price_per_step_eur_per_kwh]
    return math.fsum(prices) / len(prices) if prices else 0.0


def ev_owed_kwh(kpis: dict) -> float:
    """EV energy still owed at the end of the run: ``ev_owed_kwh`` where the KPIs have
    it, else the energy unmet at departure. [kWh]"""
    if "ev_owed_kwh" in kpis:
        return float(kpis["ev_owed_kwh"])
    return float(kpis.get("ev_unmet_at_departure_kwh", 0.0))


def same_service_cost_eur(kpis: dict, price_eur_per_kwh: float) -> float:
    """Cost plus the value of undelivered EV energy, less the value of the
    stored-energy change, both at ``price_eur_per_kwh``. [EUR]"""
    stored = float(kpis.get("battery_stored_change_kwh", 0.0))
    return float(kpis["cost_eur"]) - price_eur_per_kwh * stored \
        + price_eur_per_kwh * ev_owed_kwh(kpis)


def service_differences(a: dict, b: dict) -> list[Difference]:
    """The service figures on which ``a`` and ``b`` differ beyond the tolerance."""
    out = []
    for key, label in SERVICE_KPIS:
        va = ev_owed_kwh(a) if key == "ev_owed_kwh" else a.get(key)
        vb = ev_owed_kwh(b) if key == "ev_owed_kwh" else b.get(key)
        if va is None or vb is None or not (math.isfinite(va) and math.isfinite(vb)):
            continue
        if abs(va - vb) > service_tolerance_kwh(va, vb):
            out.append(Difference(key, label, float(va), float(vb)))
    return out


def verdict(name_a: str, name_b: str, a: dict, b: dict, price_eur_per_kwh: float) -> str:
    """One line: which side costs less for the same service, or what differs.

    With matching service the figure is the difference of the plain costs; with
    differing service the line names the differences and gives the costs for the same
    service at the stated price instead of a plain "cheaper"."""
    diffs = service_differences(a, b)
    if not diffs:
        saving = float(b["cost_eur"]) - float(a["cost_eur"])
        return (f"{name_a} costs {abs(saving):.2f} EUR {'less' if saving >= 0 else 'more'} "
                f"than {name_b} for the same service")
    what = "; ".join(f"{d.label.split(' [')[0]} {d.a:.1f} against {d.b:.1f} kWh"
                     for d in diffs)
    ca = same_service_cost_eur(a, price_eur_per_kwh)
    cb = same_service_cost_eur(b, price_eur_per_kwh)
    return (f"not the same service ({what}); valued at {price_eur_per_kwh:.3f} EUR/kWh, "
            f"the cost for the same service is {ca:.2f} EUR for {name_a} against "
            f"{cb:.2f} EUR for {name_b}")
