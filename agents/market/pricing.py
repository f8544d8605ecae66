"""Order pricing strategies: the rate a trader asks or bids at each tick of a slot.

Pure (no mosaik, no Mesa). Rates in ct/kWh. Every strategy prices inside the trader's
``Limits``: ``low`` is what the market maker pays (the feed-in price, net of the grid
fees an offer pays on its way to the root) and ``high`` what it charges (the tariff,
plus the fees a bid loses on its way up), as gsy-e's ``use_market_maker_rate`` does, so
that an order at its limit still finds the market maker. Storage prices buying in
``[low, mid)`` and selling in ``(mid, high]`` so that it never trades with itself at a
loss.

- ``gsy_ramp``: gsy-e's ramps (:class:`agents.market.ramps.RateRamp`): sellers from
  ``high`` down to ``low``, buyers from ``low`` up to ``high``, updated every
  ``update_interval`` (fit_to_limit or a fixed step);
- ``linear`` (HAMLET): the rate moves linearly with the share of the trading window
  gone, ``low + (high - low) x elapsed / (slot - u)`` for a buyer, ``u`` the update
  interval (or the tick, if longer), so the last update bids ``high``; the mirror for
  a seller;
- ``zero_intelligence`` (HAMLET, Gode and Sunder): uniform random in the range, drawn
  afresh at each call from the trader's seeded generator;
- ``retailer`` (HAMLET): buyers bid ``high``, sellers ask ``low``, at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from agents.market.ramps import RateRamp

STRATEGIES = ("gsy_ramp", "linear", "zero_intelligence", "retailer")
STORAGE_BUY_SHARE = 0.45  # a battery buys up to low + 45 % of the range ...
STORAGE_SELL_SHARE = 0.55  # ... and sells down to low + 55 %


@lru_cache(maxsize=1 << 16)
def _ramp_rate(start: float, end: float, update_s: float, slot_s: float, fit: bool,
               change: float | None, elapsed_s: float) -> float:
    """A ramp's rate at ``elapsed_s``: the same few ramps at the same few tick times,
    over and over, so the rates are kept. [ct/kWh]"""
    return RateRamp(start, end, update_s, slot_s, fit, change).rate(elapsed_s)


class UniformDraws:
    """A generator's uniform draws taken in blocks: ``uniform(low, high)`` is
    ``rng.uniform(low, high)`` bit for bit (numpy computes ``low + (high - low) * u``
    from the generator's next double ``u``, the one ``rng.random()`` gives), without a
    numpy call per draw. The generator runs ahead of the draws by up to a block.

    Parameters
    ----------
    rng : numpy.random.Generator
        The generator (used by nothing else).
    block : int
        Doubles drawn at a time [-].
    """

    def __init__(self, rng: np.random.Generator, block: int = 256):
        self.rng, self.block = rng, block
        self._left: list[float] = []
        self._next = 0

    def uniform(self, low: float, high: float) -> float:
        """A draw in ``[low, high)`` (``low <= high``, both finite)."""
        i = self._next
        if i == len(self._left):
            self._left, i = self.rng.random(self.block).tolist(), 0
        self._next = i + 1
        return low + (high - low) * self._left[i]


@dataclass(frozen=True)
class Limits:
    low_ct_per_kwh: float
    high_ct_per_kwh: float

    def for_storage(self, side: str) -> Limits:
        return _storage_limits(self, side)


@lru_cache(maxsize=4096)
def _storage_limits(limits: Limits, side: str) -> Limits:
    """A battery's buying (``bid``) or selling range inside ``limits`` (kept: the same
    few limits over and over)."""
    low, high = limits.low_ct_per_kwh, limits.high_ct_per_kwh
    span = high - low
    if side == "bid":
        return Limits(low, low + STORAGE_BUY_SHARE * span)
    return Limits(low + STORAGE_SELL_SHARE * span, high)


@dataclass(frozen=True)
class Pricing:
    strategy: str = "gsy_ramp"
    update_interval_s: float = 300.0
    fit_to_limit: bool = True
    change_per_update_ct_per_kwh: float | None = None

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy: {self.strategy!r} is not one of {', '.join(STRATEGIES)}")

    def rate(self, side: str, limits: Limits, elapsed_s: float, slot_s: float,
             tick_s: float, rng: np.random.Generator | UniformDraws) -> float:
        """The rate of a ``side`` ("bid" or "offer") order ``elapsed_s`` into the trading
        window of a slot ``slot_s`` long traded in ticks of ``tick_s``; ``rng`` draws the
        zero-intelligence rates (a generator, or its :class:`UniformDraws`). [ct/kWh]"""
        low, high = limits.low_ct_per_kwh, limits.high_ct_per_kwh
        start, end = (low, high) if side == "bid" else (high, low)
        if self.strategy == "gsy_ramp":
            return _ramp_rate(start, end, min(self.update_interval_s, slot_s), slot_s,
                              self.fit_to_limit, self.change_per_update_ct_per_kwh, elapsed_s)
        if self.strategy == "linear":
            last = max(slot_s - max(self.update_interval_s, tick_s), tick_s)
            share = min(max(elapsed_s / last, 0.0), 1.0)
            return start + (end - start) * share
        if self.strategy == "zero_intelligence":
            return float(rng.uniform(low, high)) if high > low else low
        return end  # retailer
