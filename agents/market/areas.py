"""Market areas (a tree: house -> LV feeder -> MV) and their grid fees (no mosaik, no Mesa).

Rates in ct/kWh. Each area runs one market. An order starts in its trader's house
market and moves up the tree when it stays unmatched (see ``engine``). Grid fees
follow gsy-e's two kinds (gsy_e/models/market/grid_fees):

- **constant** ``c`` [ct/kWh]: an offer's rate gains ``c`` in each market it enters
  (its own house market included), a bid's rate loses ``c`` for each market it leaves.
  A trade at the market rate ``r`` costs the buyer ``r + sum c (markets its bid
  left)`` and pays the seller ``r - sum c (markets its offer entered)``;
- **percentage** ``p`` [%]: gsy-e's Protocol B, on the *original* rates: an offer's
  rate in a market is ``o (1 + sum p_entered)``, a bid's ``b (1 - sum p_left)``. A
  trade at ``r`` pays the seller ``r / (1 + P)`` (P: every percentage on the path,
  both sides) and the buyer pays ``r``.

Either way a trade needs ``bid >= offer + the fees on its path``, the buyer pays what
the seller receives plus the fees, and each market books its own share: the constant
``c`` per kWh, or ``p`` times the seller's rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

ROOT = "mv"


@dataclass(frozen=True)
class GridFee:
    constant_ct_per_kwh: float = 0.0
    percent: float = 0.0

    @property
    def fraction(self) -> float:
        return self.percent / 100.0


@dataclass
class AreaTree:
    """Markets by name: ``parent`` (None at the root), ``level`` and ``fee``."""

    parent: dict[str, str | None] = field(default_factory=dict)
    level: dict[str, str] = field(default_factory=dict)
    fee: dict[str, GridFee] = field(default_factory=dict)

    def add(self, name: str, parent: str | None, level: str, fee: GridFee) -> str:
        if name in self.parent:
            raise ValueError(f"area {name!r} is defined twice")
        if parent is not None and parent not in self.parent:
            raise ValueError(f"area {name!r}: unknown parent {parent!r}")
        self.parent[name], self.level[name], self.fee[name] = parent, level, fee
        for cache in ("_cumulative", "_settle"):  # sums over paths that may now differ
            self.__dict__.pop(cache, None)
        return name

    @property
    def root(self) -> str:
        return next(a for a, p in self.parent.items() if p is None)

    def path_up(self, area: str) -> list[str]:
        """``area`` and its ancestors up to the root."""
        out = [area]
        while self.parent[out[-1]] is not None:
            out.append(self.parent[out[-1]])
        return out

    def bottom_up(self) -> list[str]:
        """Every area, deepest first (a market clears before its parent)."""
        return sorted(self.parent, key=lambda a: -len(self.path_up(a)))

    def cumulative_fees(self, house: str) -> tuple[list[float], list[float]]:
        """Running sums of the constant fees and fractions along ``path_up(house)``:
        element ``i`` covers the first ``i + 1`` markets (cached)."""
        cache = self.__dict__.setdefault("_cumulative", {})
        if house not in cache:
            consts, fracs, c, f = [], [], 0.0, 0.0
            for a in self.path_up(house):
                c, f = c + self.fee[a].constant_ct_per_kwh, f + self.fee[a].fraction
                consts.append(c)
                fracs.append(f)
            cache[house] = (consts, fracs)
        return cache[house]

    def rate_terms(self, house: str, side: str) -> list[tuple[float, float]]:
        """``(m, c)`` per market of ``path_up(house)``: an offer's rate ``r`` there is
        ``r * m + c`` (``m = 1 + fractions entered``, ``c`` the constant fees entered,
        its house included), a bid's ``r * m - c`` (``m = 1 - fractions left``, ``c`` the
        constant fees left: none in its house). Cached."""
        cache = self.__dict__.setdefault("_cumulative", {})
        key = (house, side)
        if key not in cache:
            consts, fracs = self.cumulative_fees(house)
            if side == "offer":
                cache[key] = [(1.0 + f, c) for c, f in zip(consts, fracs, strict=True)]
            else:
                cache[key] = [(1.0, 0.0)] + [(1.0 - f, c) for c, f in zip(consts[:-1], fracs,
                                                                           strict=False)]
        return cache[key]

    # ------------------------------------------------------------------ fee algebra
    def fee_sums(self, markets: Iterable[str]) -> tuple[float, float]:
        """The constant fees [ct/kWh] and the fractions of ``markets``, summed."""
        fees = [self.fee[a] for a in markets]
        return (sum(f.constant_ct_per_kwh for f in fees), sum(f.fraction for f in fees))

    def offer_rate(self, rate: float, entered: Iterable[str]) -> float:
        """An offer's rate in the last market of ``entered`` (its own house first)."""
        const, frac = self.fee_sums(entered)
        return rate * (1.0 + frac) + const

    def bid_rate(self, rate: float, left: Iterable[str]) -> float:
        """A bid's rate after leaving the markets in ``left``."""
        const, frac = self.fee_sums(left)
        return rate * (1.0 - frac) - const

    def settle(self, rate: float, bid_left: list[str], offer_entered: list[str]
               ) -> tuple[float, float, dict[str, float]]:
        """A trade at market rate ``rate``: (buyer's rate, seller's rate, fee per market),
        all per kWh, with buyer's rate = seller's rate + the sum of the fees."""
        const, frac, fees_on_path = self._settle_terms(tuple(bid_left), tuple(offer_entered))
        seller = (rate - const) / (1.0 + frac)
        fees: dict[str, float] = {}
        for a, c, f in fees_on_path:
            share = c + f * seller
            if share:
                fees[a] = fees.get(a, 0.0) + share
        return seller + sum(fees.values()), seller, fees

    def _settle_terms(self, bid_left: tuple[str, ...], offer_entered: tuple[str, ...]):
        """(the constant fees the offer's side paid, the fractions on the whole path, and
        each market of the path with its constant fee and fraction), cached by path."""
        cache = self.__dict__.setdefault("_settle", {})
        key = (bid_left, offer_entered)
        terms = cache.get(key)
        if terms is None:
            path = [*bid_left, *offer_entered]
            terms = cache[key] = (
                self.fee_sums(offer_entered)[0], self.fee_sums(path)[1],
                [(a, self.fee[a].constant_ct_per_kwh, self.fee[a].fraction) for a in path])
        return terms

    def limits_at(self, house: str, mm_sell_ct_per_kwh: float, mm_buy_ct_per_kwh: float
                  ) -> tuple[float, float]:
        """(low, high) rates at ``house``: the offer rate that reaches the root at the market
        maker's bid, and the bid rate that reaches the market maker's offer there."""
        path = self.path_up(house)
        const, frac = self.fee_sums(path)
        low = (mm_buy_ct_per_kwh - const) / (1.0 + frac)
        const, frac = self.fee_sums(path[:-1])  # the markets a bid leaves on its way up
        high = (self.offer_rate(mm_sell_ct_per_kwh, [self.root]) + const) / (1.0 - frac)
        return low, high


def feeder_tree(bus_of_house: dict[str, str], fees_by_level: dict[str, GridFee]) -> AreaTree:
    """The tree of the ``lv_radial`` feeder: the MV root, one market per LV feeder
    (``f<k>``) that hosts a house, and one house market per participant. Houses on
    feeder bus ``f<k>_b<j>`` sit under ``f<k>``; houses on the busbar under the root.
    """
    tree = AreaTree()
    no_fee = GridFee()
    tree.add(ROOT, None, "mv", fees_by_level.get("mv", no_fee))
    for house, bus in bus_of_house.items():
        parent = ROOT
        if bus.startswith("f") and "_b" in bus:
            parent = bus.split("_b")[0]
            if parent not in tree.parent:
                tree.add(parent, ROOT, "lv_feeder", fees_by_level.get("lv_feeder", no_fee))
        tree.add(house, parent, "house", fees_by_level.get("house", no_fee))
    return tree
