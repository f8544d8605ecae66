"""Seeded random scheduling problems, as builtin inputs and as FlexMeasures' DataFrames.

Batteries and EVs (departure targets, one-way chargers), site limits, price series with
negative prices; used by the equivalence test against FlexMeasures' device_scheduler.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agents.scheduling import backends
from agents.scheduling.device_scheduler import Commitment, Device


def random_problem(seed: int, n: int = 24, n_batteries: int | None = None,
                   n_evs: int | None = None) -> dict:
    """Devices, site limits and the net-energy commitment (prices per power unit per step)."""
    rng = np.random.default_rng(seed)
    devices = []
    n_batteries = int(rng.integers(1, 4)) if n_batteries is None else n_batteries
    n_evs = int(rng.integers(0, 3)) if n_evs is None else n_evs
    for _ in range(n_batteries):
        p = rng.uniform(0.5, 2.0)
        cap = rng.uniform(1.0, 6.0) * 4  # in power x step (15 min steps)
        s0 = rng.uniform(0.1, 0.9) * cap
        rt = rng.uniform(0.8, 0.98)
        devices.append(Device(
            derivative_min=np.full(n, -p), derivative_max=np.full(n, p),
            stock_min=np.full(n, -s0), stock_max=np.full(n, cap - s0),
            up_efficiency=rt ** 0.5, down_efficiency=rt ** 0.5,
            storage_efficiency=rng.choice([1.0, rng.uniform(0.995, 1.0)]), initial_stock=s0,
        ))
    for _ in range(n_evs):  # EVs: charge only, a target at departure
        p = rng.uniform(0.5, 1.5)
        dep = int(rng.integers(n // 2, n))
        dmax = np.where(np.arange(n) < dep, p, 0.0)
        need = rng.uniform(0.2, 0.9) * p * dep
        equals = np.full(n, np.nan)
        equals[dep - 1] = need
        devices.append(Device(
            derivative_min=np.zeros(n), derivative_max=dmax, stock_min=np.zeros(n),
            stock_max=np.full(n, 1.2 * p * n), stock_equals=equals, up_efficiency=0.95,
        ))
    price = rng.normal(0.2, 0.12, n)
    price[rng.random(n) < 0.15] *= -1  # some negative prices
    production = price - np.abs(rng.normal(0.05, 0.03, n))
    site = float(rng.uniform(1.0, 4.0)) * max(1.0, len(devices) / 4)
    commitments = [Commitment(quantity=0.0, up_price=price * 0.25,
                              down_price=production * 0.25)]
    inflexible = rng.uniform(-1.0, 1.5, n)
    devices.append(Device(derivative_min=inflexible, derivative_max=inflexible,
                           derivative_equals=inflexible))
    return {"devices": devices, "n": n, "ems_min": np.full(n, -site - 2.0),
            "ems_max": np.full(n, site + 2.0), "commitments": commitments}


def to_flexmeasures(problem: dict):
    """The same problem as FlexMeasures' device_scheduler arguments."""
    idx = pd.date_range("2026-06-01", periods=problem["n"], freq="15min", tz="UTC")
    named = [(f"c{k}", c) for k, c in enumerate(problem["commitments"])]
    return backends.to_flexmeasures(problem["devices"], named, problem["ems_min"],
                                    problem["ems_max"], idx)
