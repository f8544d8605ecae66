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
