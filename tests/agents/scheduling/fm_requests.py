"""Seeded random FlexMeasures trigger bodies: batteries, EVs with departure targets,
soc-minima/maxima, site limits, inflexible load and PV, prices with negative values."""

from __future__ import annotations

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-06-01T00:00:00-04:00")
RES = pd.Timedelta("PT15M")


def _series(values, start=START, step="PT15M", unit="kW", fmt="{:.4f}"):
    out = []
    t = start
    for v in values:
        out.append({"start": t.isoformat(), "duration": step, "value": f"{fmt.format(v)} {unit}"})
        t = t + pd.Timedelta(step)
    return out


def random_request(seed: int, n: int = 32, n_batteries: int | None = None,
                   n_evs: int | None = None, relax: bool | None = None) -> dict:
    rng = np.random.default_rng(seed)
    n_batteries = int(rng.integers(1, 4)) if n_batteries is None else n_batteries
    n_evs = int(rng.integers(0, 3)) if n_evs is None else n_evs
    entries = [_battery(rng, b, n) for b in range(n_batteries)]
    entries += [_ev(rng, e, n) for e in range(n_evs)]
    ctx = _context(rng, n)
    if relax is not None:
        ctx["relax-constraints"] = relax
    return {"start": START.isoformat(), "duration": f"PT{n * 15}M", "resolution": "PT15M",
            "flex-model": entries, "flex-context": ctx}


def _battery(rng, b: int, n: int) -> dict:
    cap = float(rng.uniform(20, 120))
    entry = {
        "device": f"battery-{b}", "soc-at-start": f"{rng.uniform(0.2, 0.8) * cap:.3f} kWh",
        "soc-min": f"{0.1 * cap:.3f} kWh", "soc-max": f"{0.95 * cap:.3f} kWh",
        "power-capacity": f"{rng.uniform(5, 50):.3f} kW",
        "roundtrip-efficiency": f"{rng.uniform(80, 97):.2f}%",
    }
    if rng.random() < 0.5:
        entry["storage-efficiency"] = f"{rng.uniform(99.9, 100):.4f}%"
    if rng.random() < 0.4:  # a soc-minima window
        t = START + RES * int(rng.integers(4, n))
        entry["soc-minima"] = [{"datetime": t.isoformat(),
                                "value": f"{rng.uniform(0.3, 0.9) * cap:.3f} kWh"}]
    if rng.random() < 0.3:
        t = START + RES * int(rng.integers(2, n // 2))
        entry["soc-maxima"] = [{"start": t.isoformat(), "duration": "PT1H",
                                "value": f"{rng.uniform(0.5, 0.9) * cap:.3f} kWh"}]
    if rng.random() < 0.3:
        entry["prefer-charging-sooner"] = False
    return entry


def _ev(rng, e: int, n: int) -> dict:
    p = float(rng.uniform(7, 22))
    s0 = float(rng.uniform(5, 40))
    dep = int(rng.integers(n // 2, n + 1))
    need = s0 + rng.uniform(0.2, 1.2) * p * dep * 0.25  # may be out of reach
    return {
        "device": f"ev-{e}", "soc-at-start": f"{s0:.3f} kWh", "soc-max": "75 kWh",
        "soc-targets": [{"datetime": (START + RES * dep).isoformat(),
                         "value": f"{min(need, 75):.3f} kWh"}],
        "power-capacity": f"{p:.3f} kW", "consumption-capacity": f"{p:.3f} kW",
        "production-capacity": f"{p if rng.random() < 0.4 else 0:.3f} kW",
        "charging-efficiency": "92%", "discharging-efficiency": "92%",
    }


def _context(rng, n: int) -> dict:
    price = rng.normal(0.2, 0.12, n)
    price[rng.random(n) < 0.15] *= -1
    ctx = {"consumption-price": _series(price, unit="EUR/kWh")}
    if rng.random() < 0.7:
        ctx["production-price"] = _series(price - np.abs(rng.normal(0.05, 0.03, n)),
                                          unit="EUR/kWh")
    ctx["inflexible-consumption"] = [_series(rng.uniform(5, 60, n))]
    if rng.random() < 0.6:
        ctx["inflexible-production"] = [_series(np.clip(rng.normal(20, 15, n), 0, None))]
    if rng.random() < 0.7:
        ctx["site-power-capacity"] = f"{rng.uniform(80, 200):.2f} kW"
    if rng.random() < 0.5:
        ctx["site-consumption-capacity"] = f"{rng.uniform(30, 90):.2f} kW"
    if rng.random() < 0.3:
        ctx["site-production-capacity"] = f"{rng.uniform(10, 60):.2f} kW"
    if rng.random() < 0.3:
        ctx["site-peak-consumption"] = f"{rng.uniform(10, 50):.2f} kW"
        ctx["site-peak-consumption-price"] = f"{rng.uniform(1, 20):.2f} EUR/kW"
    return ctx
