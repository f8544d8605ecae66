"""Nested-loop clearing rules, written from the rules' descriptions: the test oracle.

Slow (each order walks the whole other side, each rate sums the whole book) and plain on
purpose, independent of ``agents.market.clearing``'s pointer walks, cumulative sums and
Fenwick trees; only the ``Order`` and ``Trade`` records are shared. The state is kept
per order (by position), every loop visits the orders in the order the rule names:

- "descending": by rate, highest first, and among equal rates the later order first
  (gsy's reversed stable ascending sort); "ascending": by rate, then input order;
- rates match within ``TOL`` = 2e-5 ct/kWh; an order with ``EPS`` = 1e-9 kWh or less
  left is filled.

Energies are summed in the order the loops visit the orders, as the rules do.
"""

from __future__ import annotations

from agents.market.clearing import Order, Trade

TOL = 2e-5
EPS = 1e-9


def _descending(orders: list[Order]) -> list[int]:
    return sorted(range(len(orders)), key=lambda k: (-orders[k].rate_ct_per_kwh, -k))


def _ascending(orders: list[Order]) -> list[int]:
    return sorted(range(len(orders)), key=lambda k: (orders[k].rate_ct_per_kwh, k))


def pay_as_bid(bids: list[Order], offers: list[Order]) -> list[Trade]:
    """Offers from the highest rate down; each takes from the bids, highest first, every
    bid of another trader whose rate is at least its own (less TOL), at the bid's rate."""
    bid_left = [b.energy_kwh for b in bids]
    bid_order = _descending(bids)
    trades = []
    for k in _descending(offers):
        offer = offers[k]
        left = offer.energy_kwh
        for j in bid_order:
            bid = bids[j]
            if left <= EPS:
                break
            if bid_left[j] <= EPS or bid.trader == offer.trader:
                continue
            if offer.rate_ct_per_kwh <= bid.rate_ct_per_kwh + TOL:
                energy = min(left, bid_left[j])
                trades.append(Trade(bid.id, offer.id, bid.trader, offer.trader, energy,
                                    bid.rate_ct_per_kwh))
                left -= energy
                bid_left[j] -= energy
    return trades


def _demand(bids: list[Order], rate: float) -> float:
    total = 0
    for b in bids:
        if b.rate_ct_per_kwh >= rate - TOL:
            total += b.energy_kwh
    return total


def _supply(offers: list[Order], rate: float) -> float:
    total = 0
    for o in offers:
        if o.rate_ct_per_kwh <= rate + TOL:
            total += o.energy_kwh
    return total


def clearing_rate(bids: list[Order], offers: list[Order]) -> float | None:
    """The lowest bid rate where the supply at or below it covers the demand at or above
    it; else (supply short at every bid rate) the highest bid rate with any supply."""
    if not offers:
        return None
    rates = []
    for b in bids:  # each distinct bid rate once, as first met
        if all(b.rate_ct_per_kwh != r for r in rates):
            rates.append(b.rate_ct_per_kwh)
    rates.sort()
    for r in rates:
        supply = _supply(offers, r)
        if supply > EPS and supply >= _demand(bids, r) - EPS:
            return r
    best = None
    for r in rates:
        if _supply(offers, r) > EPS:
            best = r
    return best


def pay_as_clear(bids: list[Order], offers: list[Order], self_trades: bool = True
                 ) -> tuple[float | None, list[Trade]]:
    """At the clearing rate, the bids at or above it (descending) fill from the offers at
    or below it (ascending) until the smaller of their totals is traded."""
    rate = clearing_rate(bids, offers)
    if rate is None:
        return None, []
    bid_order = [j for j in _descending(bids) if bids[j].rate_ct_per_kwh >= rate - TOL]
    offer_order = [k for k in _ascending(offers) if offers[k].rate_ct_per_kwh <= rate + TOL]
    demand = 0
    for j in bid_order:
        demand += bids[j].energy_kwh
    supply = 0
    for k in offer_order:
        supply += offers[k].energy_kwh
    to_clear = min(demand, supply)
    offer_left = [o.energy_kwh for o in offers]
    trades = []
    for j in bid_order:
        bid = bids[j]
        need = bid.energy_kwh
        for k in offer_order:
            if need <= EPS or to_clear <= EPS:
                break
            if offer_left[k] <= EPS:
                continue
            energy = min(need, offer_left[k], to_clear)
            trades.append(Trade(bid.id, offers[k].id, bid.trader, offers[k].trader, energy,
                                rate))
            need -= energy
            offer_left[k] -= energy
            to_clear -= energy
    if not self_trades:
        trades = [t for t in trades if t.buyer != t.seller]
    return rate, trades


def pay_as_offer(bids: list[Order], offers: list[Order], rng) -> list[Trade]:
    """Each bid in input order buys the cheapest open offer of another trader at or
    below its rate (ties within TOL of the cheapest: ``rng.integers`` over them in input
    order, when more than one), at the offer's rate, until its energy is met."""
    offer_left = [o.energy_kwh for o in offers]
    trades = []
    for bid in bids:
        need = bid.energy_kwh
        while need > EPS:
            open_ = [k for k, o in enumerate(offers)
                     if offer_left[k] > EPS and o.trader != bid.trader
                     and o.rate_ct_per_kwh <= bid.rate_ct_per_kwh + TOL]
            if not open_:
                break
            cheapest = min(offers[k].rate_ct_per_kwh for k in open_)
            ties = [k for k in open_ if offers[k].rate_ct_per_kwh <= cheapest + TOL]
            k = ties[0] if len(ties) == 1 else ties[int(rng.integers(len(ties)))]
            offer = offers[k]
            energy = min(need, offer_left[k])
            trades.append(Trade(bid.id, offer.id, bid.trader, offer.trader, energy,
                                offer.rate_ct_per_kwh))
            need -= energy
            offer_left[k] -= energy
    return trades


def pda_uniform(bids: list[Order], offers: list[Order]) -> tuple[float | None, list[Trade]]:
    """Bids descending each take the open offers of other traders ascending while the
    offer's rate is at most the bid's (plus TOL); one price for all: the mean of the last
    matched bid's and offer's rates."""
    bid_left = [b.energy_kwh for b in bids]
    offer_left = [o.energy_kwh for o in offers]
    pairs = []
    offer_order = _ascending(offers)
    for j in _descending(bids):
        bid = bids[j]
        for k in offer_order:
            offer = offers[k]
            if bid_left[j] <= EPS:
                break
            if offer_left[k] <= EPS or offer.trader == bid.trader:
                continue
            if offer.rate_ct_per_kwh > bid.rate_ct_per_kwh + TOL:
                break
            energy = min(bid_left[j], offer_left[k])
            pairs.append((bid, offer, energy))
            bid_left[j] -= energy
            offer_left[k] -= energy
    if not pairs:
        return None, []
    bid, offer, _ = pairs[-1]
    rate = (bid.rate_ct_per_kwh + offer.rate_ct_per_kwh) / 2.0
    return rate, [Trade(b.id, o.id, b.trader, o.trader, e, rate) for b, o, e in pairs]
