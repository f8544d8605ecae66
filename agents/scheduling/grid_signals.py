"""Grid operator signals (OpenADR events) as scheduler input: site import limits and
prices over the steps of a plan. Pure functions.

A signal window is ``(start_s, end_s, site_limit_kw, price_eur_per_kwh)`` in simulated
seconds since the run's start; either value may be None. A window applies to every
step it overlaps; where windows overlap, the tightest limit and the latest price win.
Limits (the site's capacity and the signals') are on the import at the transformer; a
``device_limit_kw`` turns them into the devices' side, less the feeder's losses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

UNLIMITED_KW = 1e6  # a step without any limit, in a series that has limits elsewhere [kW]


def signal_series(windows: Sequence[Sequence], step0: int, n: int, step_s: float,
                  capacity_kw: float | None, price_eur_per_kwh: np.ndarray,
                  device_limit_kw: Callable[[float], float] | None = None
                  ) -> tuple[np.ndarray | None, np.ndarray]:
    """Site consumption capacity and import price per step of a plan.

    Parameters
    ----------
    windows : sequence of (start_s, end_s, site_limit_kw, price_eur_per_kwh)
        Signal windows in simulated seconds. [s, s, kW, EUR/kWh]
    step0, n : int
        First step of the plan and its number of steps.
    step_s : float
        Step length. [s]
    capacity_kw : float or None
        The site's own capacity (None: unlimited). [kW]
    price_eur_per_kwh : numpy.ndarray
        The tariff's import price for the ``n`` steps. [EUR/kWh]
    device_limit_kw : callable, optional
        Import limit at the transformer -> net device consumption within it (the room
        the feeder's losses take); None: the limits as they are. [kW -> kW]

    Returns
    -------
    capacity : numpy.ndarray or None
        Device-side import limit per step (None when neither the site nor a signal
        limits it; steps without a limit hold ``UNLIMITED_KW``). [kW]
    price : numpy.ndarray
        Import price per step with the signals' prices in their windows. [EUR/kWh]
    """
    t0 = (step0 + np.arange(n)) * step_s
    limit = np.full(n, np.inf if capacity_kw is None else float(capacity_kw))
    price = np.array(price_eur_per_kwh, dtype=float, copy=True)
    for start_s, end_s, limit_kw, price_kw in windows:
        hit = (t0 + step_s > start_s) & (t0 < end_s)
        if limit_kw is not None and np.isfinite(limit_kw):
            limit[hit] = np.minimum(limit[hit], max(float(limit_kw), 0.0))
        if price_kw is not None and np.isfinite(price_kw):
            price[hit] = float(price_kw)
    if np.isinf(limit).all():
        return None, price
    if device_limit_kw is not None:
        limit = np.array([v if np.isinf(v) else device_limit_kw(v) for v in limit])
    return np.where(np.isinf(limit), UNLIMITED_KW, limit), price
