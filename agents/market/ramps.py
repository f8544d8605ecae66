"""gsy-e's price ramps: how a trader's order rate moves inside a market slot.

Rates in ct/kWh, times in s from the slot's start (at tick resolution: the market
passes ``tick * tick_length_s``). A seller (PV, storage selling) ramps down from its
initial to its final selling rate, a buyer (load, storage buying) up from its initial
to its final buying rate. The rate changes at update points, the ``u``-th once
``elapsed_s >= u x update_interval_s``:

- ``fit_to_limit`` (gsy's default): ``n = max(slot / update_interval - 1, 1)`` updates
  (whole number) and equal steps ``(initial - final) / n``, so the rate reaches the
  final rate at the last update point of the slot;
- otherwise a fixed step per update (``change_per_update``, a magnitude) towards the
  final rate, never past it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RateRamp:
    initial_ct_per_kwh: float
    final_ct_per_kwh: float
    update_interval_s: float
    slot_length_s: float
    fit_to_limit: bool = True
    change_per_update_ct_per_kwh: float | None = None

    def __post_init__(self):
        if not 0 < self.update_interval_s <= self.slot_length_s:
            raise ValueError(f"update_interval: {self.update_interval_s} s must be > 0 and at "
                             f"most the slot length ({self.slot_length_s} s)")
        if not self.fit_to_limit and (self.change_per_update_ct_per_kwh is None
                                      or self.change_per_update_ct_per_kwh < 0):
            raise ValueError("change_per_update: a rate step >= 0 ct/kWh is needed when "
                             f"fit_to_limit is false, got {self.change_per_update_ct_per_kwh!r}")

    @property
    def n_updates(self) -> int:
        return max(int(self.slot_length_s // self.update_interval_s) - 1, 1)

    @property
    def step_ct_per_kwh(self) -> float:
        """Signed change per update: negative for a falling (selling) ramp."""
        span = self.final_ct_per_kwh - self.initial_ct_per_kwh
        if self.fit_to_limit:
            return span / self.n_updates
        return math.copysign(self.change_per_update_ct_per_kwh, span)

    def updates_done(self, elapsed_s: float) -> int:
        return int(max(elapsed_s, 0.0) // self.update_interval_s)

    def rate(self, elapsed_s: float) -> float:
        """The order rate ``elapsed_s`` into the slot. [ct/kWh]"""
        u = self.updates_done(elapsed_s)
        if self.fit_to_limit:
            u = min(u, self.n_updates)
        value = self.initial_ct_per_kwh + self.step_ct_per_kwh * u
        low, high = sorted((self.initial_ct_per_kwh, self.final_ct_per_kwh))
        return min(max(value, low), high)
