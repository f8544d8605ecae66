"""Clearing rules as pure functions: an order book in, trades out (no mosaik, no Mesa).

Rates in ct/kWh, energies in kWh (>= 0, finite; ids unique within a side). The rules
follow Grid Singularity's gsy-framework matching algorithms so that the same book gives
the same trades, pairing for pairing:

- ordering: "descending by rate" is gsy's reverse of a stable ascending sort, so among
  equal rates the later order comes first; "ascending" keeps input order;
- ``pay_as_bid``: offers descending; for each offer, the bids descending; a pair
  matches when offer rate <= bid rate + 2e-5 ct/kWh and buyer != seller; the energy is
  the smaller remainder and the trade rate the bid's;
- ``pay_as_clear``: the clearing rate is the lowest bid rate at which the supply offered
  at or below it covers the demand bid at or above it; when supply is short at every
  bid rate, the highest bid rate with any supply at or below it. So the price is always
  a bid rate. The cleared energy (the smaller of that demand and supply) is then filled
  bids descending from offers ascending, at that one rate.

- ``pay_as_offer`` (one-sided) and ``pda_uniform`` (HAMLET's periodic double auction
  with uniform pricing): see their docstrings.

Self-trades: gsy's pay-as-clear step can pair a trader with its own offer and leaves
it to the market to drop that pair. ``pay_as_clear`` here returns the step's pairs as
gsy does (``self_trades=True``); with ``self_trades=False`` (what the market uses)
those pairs are dropped afterwards, as gsy's market does, and the rest is unchanged.

Implementation: the rules read as nested loops (each offer walks all bids, each rate
sums all orders); here they run in O(n log n). Sorted orders are walked with pointers
that skip filled orders and runs of the walking trader's own orders (``_Walk``, union-
find), the clearing rate comes from cumulative sums and binary search, and pay-as-offer
draws its tie-breaks through Fenwick trees of the unfilled offers. The trades, their
order and their floats are those of the nested loops (``tests/agents/market/oracle.py``):
every energy is computed by the same operations in the same order, and a clearing-rate
comparison that falls within the rounding bound of the sums (about n * 1e-16 of the
energy summed; never when all energies are multiples of 2**-20 kWh) is redone by summing
in input order, as the loops do, at O(n) each. Two cases stay slower than n log n: many
such near ties, and pay-as-offer ties spread over several rates closer together than
the tolerance (listed one by one).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

import numpy as np

RATE_TOLERANCE_CT = 2e-5  # gsy-framework's FLOATING_POINT_TOLERANCE on rates
ENERGY_EPS_KWH = 1e-9
_U = 2.0 ** -53  # unit roundoff of float64
_RATE, _ENERGY = attrgetter("rate_ct_per_kwh"), attrgetter("energy_kwh")
SMALL_BOOK = 1000  # rates x orders up to which clearing_rate sums by the definition


class Order(NamedTuple):
    """One order of a book (a named tuple: immutable, and the market makes some ten
    thousand a simulated day, at half the cost of a frozen dataclass)."""

    id: str
    trader: str
    energy_kwh: float
    rate_ct_per_kwh: float


@dataclass(frozen=True)
class Trade:
    bid_id: str
    offer_id: str
    buyer: str
    seller: str
    energy_kwh: float
    rate_ct_per_kwh: float


def descending(orders: list[Order]) -> list[Order]:
    """gsy's descending order: a stable ascending sort, reversed."""
    return list(reversed(sorted(orders, key=_RATE)))


def ascending(orders: list[Order]) -> list[Order]:
    return sorted(orders, key=_RATE)


class _Walk:
    """Positions ``0..n-1`` of orders in a fixed walk order, some of them filled.

    ``first(i)`` is the first unfilled position >= i (``n`` when none), ``other(i, t)``
    the first unfilled one >= i whose trader is not ``t``. Filled positions are skipped
    by a union-find with path compression; a trader's own orders by runs of one trader
    (consecutive in the walk order, or separated only by filled positions), which are
    merged as the positions between them fill. Both are amortised near-constant time.
    """

    def __init__(self, traders: list[str], unfilled: list[bool]):
        n = self.n = len(traders)
        self.traders = traders
        self.skip = [i if ok else i + 1 for i, ok in enumerate(unfilled)] + [n]
        self.run_of = [0] * n  # the run (of one trader) holding each position
        self.run_end: list[int] = []  # one past the run's last position
        for i in range(n):
            if i and traders[i] == traders[i - 1]:
                self.run_of[i] = len(self.run_end) - 1
                self.run_end[-1] = i + 1
            else:
                self.run_of[i] = len(self.run_end)
                self.run_end.append(i + 1)
        self.run_up = list(range(len(self.run_end)))  # union-find of merged runs

    def fill(self, i: int) -> None:
        self.skip[i] = i + 1

    def first(self, i: int) -> int:
        skip = self.skip
        root = i
        while skip[root] != root:
            root = skip[root]
        while skip[i] != root:
            skip[i], i = root, skip[i]
        return root

    def _run(self, r: int) -> int:
        up = self.run_up
        while up[r] != r:
            up[r] = up[up[r]]
            r = up[r]
        return r

    def other(self, i: int, trader: str) -> int:
        i = self.first(i)
        traders, n = self.traders, self.n
        while i < n and traders[i] == trader:
            r = self._run(self.run_of[i])
            j = self.first(self.run_end[r])
            if j < n and traders[j] == trader:  # only filled positions between: merge
                r2 = self._run(self.run_of[j])
                self.run_up[r2] = r
                self.run_end[r] = self.run_end[r2]
            i = j
        return i


def _match(outer: list[Order], pool: list[Order], ends: list[int]
           ) -> tuple[list[Order], list[Order], list[float]]:
    """Each ``outer`` order in turn fills from ``pool``'s unfilled orders of other traders,
    in pool order, up to (not including) position ``ends[k]``: the pairs as three lists
    (outer orders, pool orders, kWh), so that only the trades are new objects."""
    eps = ENERGY_EPS_KWH
    left = [o.energy_kwh for o in pool]
    traders = [o.trader for o in pool] + [None]  # a sentinel after the last position
    walk = _Walk(traders[:-1], [e > eps for e in left])
    skip, other = walk.skip, walk.other
    outs, pools, energies = [], [], []
    for o, end in zip(outer, ends, strict=True):
        need, trader = o.energy_kwh, o.trader
        i = other(0, trader)
        while need > eps and i < end:
            pool_left = left[i]
            energy = pool_left if pool_left < need else need  # min(need, pool_left)
            outs.append(o)
            pools.append(pool[i])
            energies.append(energy)
            need -= energy
            left[i] = pool_left = pool_left - energy
            if pool_left > eps:  # then need is 0: this outer order is done
                break
            skip[i] = i + 1  # filled
            i += 1
            if skip[i] != i or traders[i] == trader:
                i = other(i, trader)
    return outs, pools, energies


def pay_as_bid(bids: list[Order], offers: list[Order]) -> list[Trade]:
    """Two-sided pay-as-bid (see the module docstring)."""
    sorted_bids = descending(bids)
    sorted_offers = descending(offers)
    # the bids an offer may match are a prefix of the descending bids, growing as the
    # offer rates fall: offer rate <= bid rate + tolerance
    limits = [b.rate_ct_per_kwh + RATE_TOLERANCE_CT for b in sorted_bids]
    ends, end = [], 0
    for offer in sorted_offers:
        while end < len(limits) and not offer.rate_ct_per_kwh > limits[end]:
            end += 1
        ends.append(end)
    offers_, bids_, energies = _match(sorted_offers, sorted_bids, ends)
    return [Trade(b.id, o.id, b.trader, o.trader, e, b.rate_ct_per_kwh)
            for o, b, e in zip(offers_, bids_, energies, strict=True)]


def demand_supply_sums(rates: list[float], bids: list[Order], offers: list[Order]):
    """Demand bid at or above and supply offered at or below each rate, by cumulative
    sums over the sorted orders, with a bound on how far each may lie from the same sum
    taken in input order (0 when every partial sum is exact: multiples of 2**-20)."""
    r = np.asarray(rates, dtype=float)
    b_rate = np.fromiter(map(_RATE, bids), float, len(bids))
    b_e = np.fromiter(map(_ENERGY, bids), float, len(bids))
    o_rate = np.fromiter(map(_RATE, offers), float, len(offers))
    o_e = np.fromiter(map(_ENERGY, offers), float, len(offers))
    ib, io = np.argsort(b_rate, kind="stable"), np.argsort(o_rate, kind="stable")
    n_d = len(bids) - np.searchsorted(b_rate[ib], r - RATE_TOLERANCE_CT, side="left")
    n_s = np.searchsorted(o_rate[io], r + RATE_TOLERANCE_CT, side="right")
    demand = np.concatenate(([0.0], np.cumsum(b_e[ib][::-1])))[n_d]
    supply = np.concatenate(([0.0], np.cumsum(o_e[io])))[n_s]
    e = np.concatenate((b_e, o_e))
    scaled = e * 2.0 ** 20
    if np.all(np.floor(scaled) == scaled) and np.abs(e).sum() < 2.0 ** 32:
        return demand, supply, np.zeros_like(demand), np.zeros_like(supply)
    abs_d = np.concatenate(([0.0], np.cumsum(np.abs(b_e[ib][::-1]))))[n_d]
    abs_s = np.concatenate(([0.0], np.cumsum(np.abs(o_e[io]))))[n_s]
    # a naive sum of m terms lies within (m + 1) u sum|x| of the exact sum, both ways
    err_d = 2.0 * (n_d + 1) * _U * abs_d * 1.01
    err_s = 2.0 * (n_s + 1) * _U * abs_s * 1.01
    return demand, supply, err_d, err_s


def clearing_rate(bids: list[Order], offers: list[Order]) -> float | None:
    """pay-as-clear's rate (a bid rate), or None when nothing can clear."""
    rates = sorted({b.rate_ct_per_kwh for b in bids})
    if not rates or not offers:
        return None
    if len(rates) * (len(bids) + len(offers)) <= SMALL_BOOK:  # numpy would cost more
        return _small_book_rate(rates, bids, offers)
    return _sorted_sums_rate(rates, bids, offers)


def _demand_at(bids: list[Order], r: float) -> float:
    """Energy bid at or above ``r`` [kWh]: the definition, summed in input order."""
    return sum(b.energy_kwh for b in bids if b.rate_ct_per_kwh >= r - RATE_TOLERANCE_CT)


def _supply_at(offers: list[Order], r: float) -> float:
    """Energy offered at or below ``r`` [kWh], summed in input order."""
    return sum(o.energy_kwh for o in offers if o.rate_ct_per_kwh <= r + RATE_TOLERANCE_CT)


def _covers(bids: list[Order], offers: list[Order], r: float) -> bool:
    """Supply at ``r`` is some and meets demand at ``r``."""
    eps = ENERGY_EPS_KWH
    return _supply_at(offers, r) > eps and _supply_at(offers, r) >= _demand_at(bids, r) - eps


def _small_book_rate(rates: list[float], bids: list[Order], offers: list[Order]):
    """The lowest rate whose supply covers demand, else the highest with any supply:
    :func:`_covers` and :func:`_supply_at` (the same sums, in input order) with the
    rates and energies read once and each rate's supply summed once."""
    eps, tol = ENERGY_EPS_KWH, RATE_TOLERANCE_CT
    bid_re = [(b.rate_ct_per_kwh, b.energy_kwh) for b in bids]
    offer_re = [(o.rate_ct_per_kwh, o.energy_kwh) for o in offers]
    supplies = []
    for r in rates:
        high, low = r + tol, r - tol
        supply = sum([e for x, e in offer_re if x <= high])
        if supply > eps and supply >= sum([e for x, e in bid_re if x >= low]) - eps:
            return r
        supplies.append(supply)
    return next((r for r, s in zip(reversed(rates), reversed(supplies), strict=True)
                 if s > eps), None)


def _sorted_sums_rate(rates: list[float], bids: list[Order], offers: list[Order]):
    """As :func:`_small_book_rate`, from sorted cumulative sums; a rate whose sums lie
    within their rounding bound of a tie is decided by the input-order definition."""
    eps = ENERGY_EPS_KWH
    demand, supply, err_d, err_s = demand_supply_sums(rates, bids, offers)
    covers = (supply > eps) & (supply >= demand - eps)
    err = err_s + err_d + 4.0 * _U * (np.abs(demand) + eps)
    unsure = (np.abs(supply - eps) <= err_s) | (np.abs(supply - (demand - eps)) <= err)
    for k in np.flatnonzero(covers | unsure):  # lowest rate first
        r = rates[int(k)]
        if not unsure[k] or _covers(bids, offers, r):
            return r
    some = supply > eps
    unsure = np.abs(supply - eps) <= err_s
    for k in np.flatnonzero(some | unsure)[::-1]:  # supply short everywhere: highest rate
        r = rates[int(k)]
        if not unsure[k] or _supply_at(offers, r) > eps:
            return r
    return None


def pay_as_clear(bids: list[Order], offers: list[Order], self_trades: bool = True
                 ) -> tuple[float | None, list[Trade]]:
    """Two-sided pay-as-clear: (clearing rate, trades); see the module docstring."""
    rate = clearing_rate(bids, offers)
    if rate is None:
        return None, []
    in_bids = [b for b in descending(bids) if b.rate_ct_per_kwh >= rate - RATE_TOLERANCE_CT]
    in_offers = [o for o in ascending(offers) if o.rate_ct_per_kwh <= rate + RATE_TOLERANCE_CT]
    cleared = min(sum(b.energy_kwh for b in in_bids), sum(o.energy_kwh for o in in_offers))
    left = [o.energy_kwh for o in in_offers]
    p, m, eps = 0, len(in_offers), ENERGY_EPS_KWH
    trades = []
    for bid in in_bids:  # offers before p are filled: each bid fills from the first
        need = bid.energy_kwh
        while p < m and need > eps and cleared > eps:
            offer_left = left[p]
            if offer_left <= eps:
                p += 1
                continue
            energy = min(need, offer_left, cleared)
            offer = in_offers[p]
            trades.append(Trade(bid.id, offer.id, bid.trader, offer.trader, energy, rate))
            need -= energy
            left[p] = offer_left - energy
            cleared -= energy
    if not self_trades:
        trades = [t for t in trades if t.buyer != t.seller]
    return rate, trades


class _Counts:
    """Fenwick tree of 0/1 flags: count in a prefix, find the k-th set flag."""

    def __init__(self, flags: list[bool]):
        n = self.n = len(flags)
        tree = self.tree = [0] + [int(f) for f in flags]
        for i in range(1, n + 1):
            j = i + (i & -i)
            if j <= n:
                tree[j] += tree[i]

    def unset(self, i: int) -> None:
        i += 1
        while i <= self.n:
            self.tree[i] -= 1
            i += i & -i

    def prefix(self, i: int) -> int:
        """Set flags among positions ``0..i-1``."""
        s, tree = 0, self.tree
        while i > 0:
            s += tree[i]
            i -= i & -i
        return s

    def kth(self, k: int) -> int:
        """Position of the k-th (1-based) set flag."""
        pos, step, tree = 0, 1 << self.n.bit_length(), self.tree
        while step:
            nxt = pos + step
            if nxt <= self.n and tree[nxt] < k:
                pos, k = nxt, k - tree[nxt]
            step >>= 1
        return pos


class _OpenCounts:
    """Unfilled offers by position, counted overall and per trader by Fenwick trees
    (built on first use: most books never need them): how many of other traders lie in
    positions a..b-1, and where the j-th of them is."""

    def __init__(self, traders: list[str], unfilled: list[bool]):
        self.traders, self.unfilled = traders, unfilled
        self.all: _Counts | None = None
        self.positions: dict[str, list[int]] = {}
        self.own: dict[str, tuple[list[int], _Counts]] = {}

    def fill(self, p: int) -> None:
        self.unfilled[p] = False
        if self.all is not None:
            self.all.unset(p)
            own = self.own.get(self.traders[p])
            if own is not None:
                own[1].unset(bisect_left(own[0], p))

    def _own(self, trader: str) -> tuple[list[int], _Counts]:
        if self.all is None:
            self.all = _Counts(self.unfilled)
            for p, t in enumerate(self.traders):
                self.positions.setdefault(t, []).append(p)
        if trader not in self.own:
            ps = self.positions.get(trader, [])
            self.own[trader] = ps, _Counts([self.unfilled[p] for p in ps])
        return self.own[trader]

    def count(self, a: int, b: int, trader: str) -> int:
        ps, c = self._own(trader)
        return (self.all.prefix(b) - self.all.prefix(a)
                - c.prefix(bisect_left(ps, b)) + c.prefix(bisect_left(ps, a)))

    def select(self, a: int, b: int, j: int, trader: str) -> int:
        ps, c = self._own(trader)
        if c.prefix(bisect_left(ps, b)) == c.prefix(bisect_left(ps, a)):  # none of its own
            return self.all.kth(self.all.prefix(a) + j + 1)
        lo, hi = a, b - 1  # the first position with j + 1 counted up to it
        while lo < hi:
            mid = (lo + hi) // 2
            if self.count(a, mid + 1, trader) > j:
                hi = mid
            else:
                lo = mid + 1
        return lo


def pay_as_offer(bids: list[Order], offers: list[Order], rng) -> list[Trade]:
    """One-sided pay-as-offer: each buyer in turn (the order of ``bids``) takes the
    cheapest offers whose rate is at or below its bid rate, until its energy is met.
    Ties among the cheapest are broken by ``rng`` (a seeded numpy Generator); a partial
    fill splits the offer; the trade rate is the offer's. No one buys its own offer.

    Ties are the unfilled offers of other traders within 2e-5 ct/kWh of the cheapest;
    ``rng.integers(len(ties))`` picks one of them, listed in input order, whenever there
    is more than one. O((n + m) log^2 m), except for ties spanning several distinct rates
    (closer together than the tolerance), which are listed one by one.
    """
    order = sorted(range(len(offers)), key=[o.rate_ct_per_kwh for o in offers].__getitem__)
    srt = [offers[k] for k in order]  # equal rates stay in input order
    rates = [o.rate_ct_per_kwh for o in srt]
    left = [o.energy_kwh for o in srt]
    traders = [o.trader for o in srt]
    unfilled = [e > ENERGY_EPS_KWH for e in left]
    walk, counts = _Walk(traders, unfilled), _OpenCounts(traders, unfilled[:])
    trades = []
    for bid in bids:
        need, limit = bid.energy_kwh, bid.rate_ct_per_kwh + RATE_TOLERANCE_CT
        while need > ENERGY_EPS_KWH:
            i = walk.other(0, bid.trader)  # the cheapest open offer
            if i == walk.n or rates[i] > limit:
                break
            end = min(bisect_right(rates, rates[i] + RATE_TOLERANCE_CT),
                      bisect_right(rates, limit))  # the ties: positions i..end-1
            pos = i
            if end - i > 1 and rates[i] == rates[end - 1]:  # one rate: input order
                n_ties = counts.count(i, end, bid.trader)
                if n_ties > 1:
                    pos = counts.select(i, end, int(rng.integers(n_ties)), bid.trader)
            elif end - i > 1:  # several rates within the tolerance: list the ties
                ties, p = [], i
                while p < end:
                    ties.append(p)
                    p = walk.other(p + 1, bid.trader)
                ties.sort(key=order.__getitem__)
                if len(ties) > 1:
                    pos = ties[int(rng.integers(len(ties)))]
            offer = srt[pos]
            energy = min(need, left[pos])
            trades.append(Trade(bid.id, offer.id, bid.trader, offer.trader, energy,
                                offer.rate_ct_per_kwh))
            need -= energy
            left[pos] -= energy
            if left[pos] <= ENERGY_EPS_KWH:
                walk.fill(pos)
                counts.fill(pos)
    return trades


def pda_uniform(bids: list[Order], offers: list[Order]) -> tuple[float | None, list[Trade]]:
    """HAMLET's periodic double auction with uniform pricing: bids descending meet offers
    ascending while bid rate >= offer rate (no self-pairs); every trade is priced at the
    average of the last matched bid's and offer's rates."""
    sorted_offers = ascending(offers)
    rates = [o.rate_ct_per_kwh for o in sorted_offers]
    sorted_bids = descending(bids)
    ends = [bisect_right(rates, b.rate_ct_per_kwh + RATE_TOLERANCE_CT) for b in sorted_bids]
    bids_, offers_, energies = _match(sorted_bids, sorted_offers, ends)
    if not energies:
        return None, []
    rate = (bids_[-1].rate_ct_per_kwh + offers_[-1].rate_ct_per_kwh) / 2.0
    return rate, [Trade(b.id, o.id, b.trader, o.trader, e, rate)
                  for b, o, e in zip(bids_, offers_, energies, strict=True)]
