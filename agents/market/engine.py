"""The market operator's book for one delivery slot: ticks, forwarding, fees, lapse.

Pure (no mosaik, no Mesa). Rates in ct/kWh, energies in kWh.

Market time: each delivery slot is traded in ``ticks`` ticks. On every tick

1. the traders' live orders are synced (:meth:`SlotBook.sync`): a new order enters its
   trader's house market; a re-priced order keeps its market and restarts its wait;
   an order no longer listed is withdrawn;
2. every market clears its own book with the rule, deepest markets first (a house
   before its feeder, a feeder before the MV root);
3. every order still open has waited one more tick; one that has waited
   ``forward_after_ticks`` (2, as gsy-e's inter-area agents) since it last moved or was
   re-priced is forwarded to the next market up, its rate there carrying the grid fees
   of the way (see ``areas``). As with gsy-e's inter-area agents, forwarding copies:
   the order stays open in the markets below, and since markets clear deepest first a
   local match still comes first; energy traded anywhere leaves every copy.

At slot close (:meth:`SlotBook.close`) what is left lapses. A market maker can sit in
the root: an offer at the regulated tariff and a bid at the feed-in price, of unbounded
energy, so that nobody who reaches the root at those rates is stranded; its orders
pay the root market's fee like any other.

Self-trades: a trader (a device) never trades with itself; two devices of the same
participant may (a house's battery buying its own PV, as in gsy-e's house markets).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from agents.market import clearing
from agents.market.areas import AreaTree

RULES = ("pay_as_offer", "pay_as_bid", "pay_as_clear", "pda_uniform")
MARKET_MAKER = "market_maker"
UNBOUNDED_KWH = 1e9


@dataclass(slots=True)
class OrderIn:
    """A trader's live order as the trader sees it (remaining energy, current rate).
    Read-only by convention (not frozen: the agents make some hundred thousand a
    simulated month, and a frozen dataclass takes four times as long to make)."""
    id: str
    device: str
    participant: str
    side: str  # "bid" | "offer"
    energy_kwh: float
    rate_ct_per_kwh: float
    house: str


@dataclass(slots=True)
class _Live:
    order: OrderIn
    energy_kwh: float
    rate_ct_per_kwh: float
    path: list[str]  # markets it is open in, its house first, then up the tree
    age_ticks: int = 0
    market_rates: list[float] = field(default_factory=list)  # its rate in each
    side: int = 0  # 0: a bid, 1: an offer
    synced: int = 0  # the last sync that listed it
    books: list = field(default_factory=list)  # its clearing.Order in each (None: not yet)
    terms: list = field(default_factory=list)  # (m, c) per market of its house's way up


def _book(side: list[tuple[_Live, int]]) -> list[clearing.Order]:
    """The clearing orders of one side of a market (its open orders at their rates
    there). An order's record is kept while its energy and rate there stay the same."""
    eps, order = clearing.ENERGY_EPS_KWH, clearing.Order
    out = []
    append = out.append
    for lv, i in side:
        energy = lv.energy_kwh
        if energy > eps:
            ob = lv.books[i]
            if ob is None or ob.energy_kwh != energy:
                o = lv.order
                ob = lv.books[i] = order(o.id, o.device, energy, lv.market_rates[i])
            append(ob)
    return out


@dataclass(frozen=True)
class SettledTrade:
    slot: int
    tick: int
    market: str
    bid_id: str
    offer_id: str
    buyer: str
    seller: str
    buyer_device: str
    seller_device: str
    energy_kwh: float
    rate_ct_per_kwh: float  # in the market where it matched
    buyer_rate_ct_per_kwh: float  # paid, the fees on the bid's side included
    seller_rate_ct_per_kwh: float  # received, after the fees on the offer's side
    fees_ct_per_kwh: dict = field(default_factory=dict)  # market -> its share


@dataclass
class SlotBook:
    tree: AreaTree
    rule: str
    rng: np.random.Generator
    forward_after_ticks: int = 2
    market_maker: bool = True
    live: dict[str, _Live] = field(default_factory=dict)
    slot: int = -1
    mm_sell_ct_per_kwh: float = 0.0
    mm_buy_ct_per_kwh: float = 0.0
    _syncs: int = field(default=0, init=False, repr=False)  # syncs so far
    _shape: int = field(default=0, init=False, repr=False)  # changes of the live set or paths
    _markets: tuple = field(default=(-1, {}), init=False, repr=False)  # (shape, by market)

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"rule: {self.rule!r} is not one of {', '.join(RULES)}")
        self._bottom_up = self.tree.bottom_up()
        self._root = self.tree.root

    # ----------------------------------------------------------------- slot life
    def open(self, slot: int, tariff_ct_per_kwh: float, feed_in_ct_per_kwh: float) -> None:
        self.live.clear()
        self._shape += 1
        self.slot = slot
        self.mm_sell_ct_per_kwh, self.mm_buy_ct_per_kwh = tariff_ct_per_kwh, feed_in_ct_per_kwh

    def close(self) -> dict[str, float]:
        """Slot close: every open order lapses; returns its unmatched energy by id."""
        lapsed = {oid: lv.energy_kwh for oid, lv in self.live.items()}
        self.live.clear()
        self._shape += 1
        return lapsed

    def sync(self, orders: list[OrderIn]) -> None:
        live, eps = self.live, clearing.ENERGY_EPS_KWH
        self._syncs = n = self._syncs + 1
        listed = 0  # live orders listed by this sync (each counted once)
        get = live.get
        for o in orders:
            lv = get(o.id)
            if lv is None:
                if o.energy_kwh > eps:
                    side = 0 if o.side == "bid" else 1
                    lv = live[o.id] = _Live(o, o.energy_kwh, o.rate_ct_per_kwh, [o.house],
                                            side=side, synced=n)
                    lv.terms = self.tree.rate_terms(o.house, "offer" if side else "bid")
                    self._reprice(lv)
                    listed += 1
                    self._shape += 1
                continue
            if lv.synced != n:
                lv.synced = n
                listed += 1
            if lv.order is o and lv.energy_kwh == o.energy_kwh:
                continue  # the record it was listed with last time: nothing changed
            lv.order, lv.energy_kwh = o, o.energy_kwh
            if o.rate_ct_per_kwh != lv.rate_ct_per_kwh:
                lv.rate_ct_per_kwh, lv.age_ticks = o.rate_ct_per_kwh, 0
                self._reprice(lv)
        if listed != len(live):  # some withdrawn
            for oid in [oid for oid, lv in live.items() if lv.synced != n]:
                del live[oid]
            self._shape += 1

    @staticmethod
    def _reprice(lv: _Live) -> None:
        """The order's rate in each market it is open in (its path is always the start of
        its house's way up, so the fees on the way are running sums)."""
        r, n = lv.rate_ct_per_kwh, len(lv.path)
        if lv.side:
            lv.market_rates = [r * m + c for m, c in lv.terms[:n]]
        else:  # r * 1.0 - 0.0 is r in its house
            lv.market_rates = [r * m - c for m, c in lv.terms[:n]]
        lv.books = [None] * n

    @staticmethod
    def _forward(lv: _Live, market: str) -> None:
        """A copy of the order goes up to ``market``; its rates below stand."""
        path = lv.path
        path.append(market)
        lv.age_ticks = 0
        m, c = lv.terms[len(path) - 1]
        r = lv.rate_ct_per_kwh
        lv.market_rates.append(r * m + c if lv.side else r * m - c)
        lv.books.append(None)

    # ----------------------------------------------------------------- one tick
    def tick(self, tick: int) -> list[SettledTrade]:
        """One tick: every market clears, deepest first; then the orders age. A market
        where no open offer's rate is within the tolerance of an open bid's is skipped
        under the two-sided rules, which need such a pair for any trade (pay-as-clear's
        supply at every bid rate is 0 without one), so skipping changes nothing;
        pay-as-offer draws the buyers' order from the generator even then."""
        tol, two_sided = clearing.RATE_TOLERANCE_CT, self.rule != "pay_as_offer"
        by_market = self._by_market()
        trades: list[SettledTrade] = []
        for market in self._bottom_up:
            entry = by_market.get(market)
            if entry is None:
                continue
            bids, offers = entry
            mm = self.market_maker and market == self._root
            if not (mm or (bids and offers)):
                continue
            if two_sided:  # the rates over the orders open at the tick's start bound
                high = max([lv.market_rates[i] for lv, i in bids], default=-math.inf)
                low = min([lv.market_rates[i] for lv, i in offers], default=math.inf)
                if mm:
                    mm_offer, mm_bid = self._market_maker(market)
                    high = max(high, mm_bid.rate_ct_per_kwh)
                    low = min(low, mm_offer.rate_ct_per_kwh)
                if low > high + tol:
                    continue
            trades += self._clear(market, bids, offers, mm, tick)
        self._age()
        return trades

    def _by_market(self) -> dict[str, list]:
        """Each market's ``[bids, offers]``, the sides as (live order, position on its
        path) in the order of ``live``; kept while no order entered, left or moved up
        (what the sides list, not the orders' energies or rates, which are read as
        the markets clear)."""
        if self._markets[0] == self._shape:
            return self._markets[1]
        by_market: dict[str, list] = {}
        get = by_market.get
        for lv in self.live.values():
            side = lv.side
            for i, market in enumerate(lv.path):
                entry = get(market)
                if entry is None:
                    entry = by_market[market] = [[], []]
                entry[side].append((lv, i))
        self._markets = (self._shape, by_market)
        return by_market

    def _age(self) -> None:
        """Drop the filled orders; forward those that waited long enough."""
        eps, live = clearing.ENERGY_EPS_KWH, self.live
        forward_after, root, parent = self.forward_after_ticks, self._root, self.tree.parent
        filled = []
        for oid, lv in live.items():
            if lv.energy_kwh <= eps:
                filled.append(oid)
                continue
            lv.age_ticks += 1
            market = lv.path[-1]
            if lv.age_ticks >= forward_after and market != root:
                self._forward(lv, parent[market])  # a copy goes up; it stays open below
                self._shape += 1
        for oid in filled:
            del live[oid]
        self._shape += bool(filled)

    def _market_maker(self, market: str) -> tuple[clearing.Order, clearing.Order]:
        """The market maker's offer (the tariff, plus ``market``'s fee) and bid (the
        feed-in price) in ``market``, made once per market and pair of rates."""
        cache = self.__dict__.setdefault("_mm_orders", {})
        key = (market, self.mm_sell_ct_per_kwh, self.mm_buy_ct_per_kwh)
        if key not in cache:
            sell = self.tree.offer_rate(self.mm_sell_ct_per_kwh, [market])
            cache[key] = (clearing.Order("mm_offer", MARKET_MAKER, UNBOUNDED_KWH, sell),
                          clearing.Order("mm_bid", MARKET_MAKER, UNBOUNDED_KWH,
                                         self.mm_buy_ct_per_kwh))
        return cache[key]

    def _clear(self, market, bids, offers, mm, tick) -> list[SettledTrade]:
        b, o = _book(bids), _book(offers)
        if not mm and not (b and o):
            return []
        if mm:
            mm_offer, mm_bid = self._market_maker(market)
            o.append(mm_offer)
            b.append(mm_bid)
        if self.rule == "pay_as_bid":
            raw = clearing.pay_as_bid(b, o)
        elif self.rule == "pay_as_clear":
            raw = clearing.pay_as_clear(b, o, self_trades=False)[1]
        elif self.rule == "pda_uniform":
            raw = clearing.pda_uniform(b, o)[1]
        else:  # one-sided: buyers act in a random order each tick
            raw = clearing.pay_as_offer([b[i] for i in self.rng.permutation(len(b))], o,
                                        self.rng)
        out, live = [], self.live
        for t in raw:
            # a trader's order in the book is its live order (the same id), open in
            # ``market`` at that position on its path; the market maker's is not live
            bid_lv, offer_lv = live.get(t.bid_id), live.get(t.offer_id)
            bid_left = bid_lv.path[:bid_lv.path.index(market)] if bid_lv else []
            offer_in = offer_lv.path[:offer_lv.path.index(market) + 1] if offer_lv \
                else [market]
            buyer_rate, seller_rate, fees = self.tree.settle(t.rate_ct_per_kwh, bid_left,
                                                             offer_in)
            out.append(self._settled(tick, market, t, bid_lv, offer_lv,
                                     buyer_rate, seller_rate, fees))
        return out

    def _settled(self, tick: int, market: str, t, bid_lv: _Live | None,
                 offer_lv: _Live | None, buyer_rate: float, seller_rate: float,
                 fees: float) -> SettledTrade:
        """Trade ``t`` taken off its live orders (None: the market maker's) and recorded."""
        for lv in (bid_lv, offer_lv):
            if lv is not None:
                lv.energy_kwh -= t.energy_kwh
        return SettledTrade(
            self.slot, tick, market, t.bid_id, t.offer_id,
            bid_lv.order.participant if bid_lv else MARKET_MAKER,
            offer_lv.order.participant if offer_lv else MARKET_MAKER,
            bid_lv.order.device if bid_lv else "", offer_lv.order.device if offer_lv else "",
            t.energy_kwh, t.rate_ct_per_kwh, buyer_rate, seller_rate, fees)
