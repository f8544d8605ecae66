"""Clearing rules as pure functions: an order book in, trades out (no mosaik, no Mesa).

Rates in ct/kWh, energies in kWh. The rules follow Grid Singularity's gsy-framework
matching algorithms so that the same book gives the same trades, pairing for pairing:

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
"""

from __future__ import annotations

from dataclasses import dataclass

RATE_TOLERANCE_CT = 2e-5  # gsy-framework's FLOATING_POINT_TOLERANCE on rates
ENERGY_EPS_KWH = 1e-9


@dataclass(frozen=True)
class Order:
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
    return list(reversed(sorted(orders, key=lambda o: o.rate_ct_per_kwh)))


def ascending(orders: list[Order]) -> list[Order]:
    return sorted(orders, key=lambda o: o.rate_ct_per_kwh)


def pay_as_bid(bids: list[Order], offers: list[Order]) -> list[Trade]:
    """Two-sided pay-as-bid (see the module docstring)."""
    bid_left = {b.id: b.energy_kwh for b in bids}
    trades = []
    sorted_bids = descending(bids)
    for offer in descending(offers):
        left = offer.energy_kwh
        for bid in sorted_bids:
            if left <= ENERGY_EPS_KWH:
                break
            if bid_left[bid.id] <= ENERGY_EPS_KWH or bid.trader == offer.trader:
                continue
            if offer.rate_ct_per_kwh > bid.rate_ct_per_kwh + RATE_TOLERANCE_CT:
                continue
            energy = min(left, bid_left[bid.id])
            trades.append(Trade(bid.id, offer.id, bid.trader, offer.trader, energy,
                                bid.rate_ct_per_kwh))
            left -= energy
            bid_left[bid.id] -= energy
    return trades


def clearing_rate(bids: list[Order], offers: list[Order]) -> float | None:
    """pay-as-clear's rate (a bid rate), or None when nothing can clear."""
    rates = sorted({b.rate_ct_per_kwh for b in bids})
    if not rates or not offers:
        return None

    def demand(r):
        return sum(b.energy_kwh for b in bids if b.rate_ct_per_kwh >= r - RATE_TOLERANCE_CT)

    def supply(r):
        return sum(o.energy_kwh for o in offers if o.rate_ct_per_kwh <= r + RATE_TOLERANCE_CT)

    for r in rates:  # lowest first
        if supply(r) > ENERGY_EPS_KWH and supply(r) >= demand(r) - ENERGY_EPS_KWH:
            return r
    for r in reversed(rates):  # supply short everywhere: highest rate with some supply
        if supply(r) > ENERGY_EPS_KWH:
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
    offer_left = {o.id: o.energy_kwh for o in in_offers}
    trades = []
    for bid in in_bids:
        need = bid.energy_kwh
        for offer in in_offers:
            if need <= ENERGY_EPS_KWH or cleared <= ENERGY_EPS_KWH:
                break
            if offer_left[offer.id] <= ENERGY_EPS_KWH:
                continue
            energy = min(need, offer_left[offer.id], cleared)
            trades.append(Trade(bid.id, offer.id, bid.trader, offer.trader, energy, rate))
            need -= energy
            offer_left[offer.id] -= energy
            cleared -= energy
    if not self_trades:
        trades = [t for t in trades if t.buyer != t.seller]
    return rate, trades


def pay_as_offer(bids: list[Order], offers: list[Order], rng) -> list[Trade]:
    """One-sided pay-as-offer: each buyer in turn (the order of ``bids``) takes the
    cheapest offers whose rate is at or below its bid rate, until its energy is met.
    Ties among the cheapest are broken by ``rng`` (a seeded numpy Generator); a partial
    fill splits the offer; the trade rate is the offer's. No one buys its own offer."""
    offer_left = {o.id: o.energy_kwh for o in offers}
    trades = []
    for bid in bids:
        need = bid.energy_kwh
        while need > ENERGY_EPS_KWH:
            open_ = [o for o in offers if offer_left[o.id] > ENERGY_EPS_KWH
                     and o.trader != bid.trader
                     and o.rate_ct_per_kwh <= bid.rate_ct_per_kwh + RATE_TOLERANCE_CT]
            if not open_:
                break
            cheapest = min(o.rate_ct_per_kwh for o in open_)
            ties = [o for o in open_ if o.rate_ct_per_kwh <= cheapest + RATE_TOLERANCE_CT]
            offer = ties[int(rng.integers(len(ties)))] if len(ties) > 1 else ties[0]
            energy = min(need, offer_left[offer.id])
            trades.append(Trade(bid.id, offer.id, bid.trader, offer.trader, energy,
                                offer.rate_ct_per_kwh))
            need -= energy
            offer_left[offer.id] -= energy
    return trades


def pda_uniform(bids: list[Order], offers: list[Order]) -> tuple[float | None, list[Trade]]:
    """HAMLET's periodic double auction with uniform pricing: bids descending meet offers
    ascending while bid rate >= offer rate (no self-pairs); every trade is priced at the
    average of the last matched bid's and offer's rates."""
    bid_left = {b.id: b.energy_kwh for b in bids}
    offer_left = {o.id: o.energy_kwh for o in offers}
    pairs = []
    sorted_offers = ascending(offers)
    for bid in descending(bids):
        for offer in sorted_offers:
            if bid_left[bid.id] <= ENERGY_EPS_KWH:
                break
            if offer_left[offer.id] <= ENERGY_EPS_KWH or offer.trader == bid.trader:
                continue
            if offer.rate_ct_per_kwh > bid.rate_ct_per_kwh + RATE_TOLERANCE_CT:
                break  # offers ascend: none further is cheap enough
            energy = min(bid_left[bid.id], offer_left[offer.id])
            pairs.append((bid, offer, energy))
            bid_left[bid.id] -= energy
            offer_left[offer.id] -= energy
    if not pairs:
        return None, []
    last_bid, last_offer, _ = pairs[-1]
    rate = (last_bid.rate_ct_per_kwh + last_offer.rate_ct_per_kwh) / 2.0
    return rate, [Trade(b.id, o.id, b.trader, o.trader, e, rate) for b, o, e in pairs]
