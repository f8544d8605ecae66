"""Market time: delivery slots traded in ticks, on mosaik's clock (seconds from start).

Delivery slot ``k`` covers ``[k slot_s, (k + 1) slot_s)`` and is traded during slot
``k - 1`` in ``ticks_per_slot`` ticks of ``tick_s = slot_s / ticks_per_slot``. At a mosaik
time ``t`` the slot in trade is therefore ``t // slot_s + 1`` and the tick is
``(t mod slot_s) // tick_s``; slot 0 is never traded. Pure arithmetic: no mosaik, no Mesa.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarketClock:
    """Slot and tick arithmetic of one market.

    Parameters
    ----------
    slot_s : int
        Length of a delivery slot [s].
    ticks_per_slot : int
        Matching rounds in which a slot is traded [-]; divides ``slot_s``.
    """

    slot_s: int
    ticks_per_slot: int

    @property
    def tick_s(self) -> int:
        """Length of a tick [s]."""
        return self.slot_s // self.ticks_per_slot

    def slot_index(self, time_s: int) -> int:
        """The slot that ``time_s`` [s] lies in (delivers now)."""
        return time_s // self.slot_s

    def slot_start_s(self, slot: int) -> int:
        """Start of delivery slot ``slot`` [s from the run's start]."""
        return slot * self.slot_s

    def tick(self, time_s: int) -> int:
        """The tick of the slot's trading that ``time_s`` [s] falls in (0 = first)."""
        return (time_s % self.slot_s) // self.tick_s

    def at(self, time_s: int) -> tuple[int, int]:
        """``(slot in trade, tick)`` at ``time_s`` [s]: the next slot and its tick."""
        k, into = divmod(time_s, self.slot_s)
        return k + 1, into // self.tick_s

    def is_slot_start(self, time_s: int) -> bool:
        """Whether ``time_s`` [s] is the first instant of a slot."""
        return time_s % self.slot_s == 0

    def is_last_tick(self, time_s: int) -> bool:
        """Whether ``time_s`` [s] falls in the slot's last tick of trading."""
        return self.tick(time_s) == self.ticks_per_slot - 1
