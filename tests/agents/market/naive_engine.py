"""The slot book as first written (before issue 14's speed-ups): the test reference.

Every tick rebuilds every market's book from the live orders, makes every clearing
order afresh, clears every market that has an order on either side and settles each
trade from the fee definitions, with no caches and no short cuts. Only the rules and
the records are shared with ``agents.market.engine``.
"""

from __future__ import annotations

from agents.market import clearing
from agents.market.engine import MARKET_MAKER, SettledTrade, SlotBook, _Live


class NaiveBook(SlotBook):
    def sync(self, orders) -> None:
        seen = set()
        for o in orders:
            seen.add(o.id)
            lv = self.live.get(o.id)
            if lv is None:
                if o.energy_kwh > clearing.ENERGY_EPS_KWH:
                    lv = _Live(o, o.energy_kwh, o.rate_ct_per_kwh, [o.house])
                    self._reprice(lv)
                    self.live[o.id] = lv
                continue
            lv.order, lv.energy_kwh = o, o.energy_kwh
            if o.rate_ct_per_kwh != lv.rate_ct_per_kwh:
                lv.rate_ct_per_kwh, lv.age_ticks = o.rate_ct_per_kwh, 0
                self._reprice(lv)
        for oid in [oid for oid in self.live if oid not in seen]:
            del self.live[oid]

    def _reprice(self, lv: _Live) -> None:
        r, path = lv.rate_ct_per_kwh, lv.path
        if lv.order.side == "offer":
            lv.market_rates = [self.tree.offer_rate(r, path[:i + 1]) for i in range(len(path))]
        else:
            lv.market_rates = [self.tree.bid_rate(r, path[:i]) for i in range(len(path))]

    def tick(self, tick: int) -> list[SettledTrade]:
        by_market: dict[str, tuple[list, list]] = {}
        for lv in self.live.values():
            side = 0 if lv.order.side == "bid" else 1
            for i, market in enumerate(lv.path):
                by_market.setdefault(market, ([], []))[side].append((lv, i))
        trades: list[SettledTrade] = []
        for market in self.tree.bottom_up():
            bids, offers = by_market.get(market, ([], []))
            if bids or offers:
                mm = self.market_maker and market == self.tree.root
                trades += self._clear(market, bids, offers, mm, tick)
        for oid in [oid for oid, lv in self.live.items()
                    if lv.energy_kwh <= clearing.ENERGY_EPS_KWH]:
            del self.live[oid]
        for lv in self.live.values():
            lv.age_ticks += 1
            market = lv.path[-1]
            if lv.age_ticks >= self.forward_after_ticks and market != self.tree.root:
                lv.path.append(self.tree.parent[market])
                lv.age_ticks = 0
                self._reprice(lv)
        return trades

    def _settle(self, rate, bid_left, offer_entered):
        path = [*bid_left, *offer_entered]
        seller = ((rate - self.tree.fee_sums(offer_entered)[0])
                  / (1.0 + self.tree.fee_sums(path)[1]))
        fees: dict[str, float] = {}
        for a in path:
            f = self.tree.fee[a]
            share = f.constant_ct_per_kwh + f.fraction * seller
            if share:
                fees[a] = fees.get(a, 0.0) + share
        return seller + sum(fees.values()), seller, fees

    def _clear(self, market, bids, offers, mm, tick) -> list[SettledTrade]:
        eps = clearing.ENERGY_EPS_KWH
        index = {lv.order.id: (lv, i) for lv, i in (*bids, *offers) if lv.energy_kwh > eps}
        b = [clearing.Order(lv.order.id, lv.order.device, lv.energy_kwh, lv.market_rates[i])
             for lv, i in bids if lv.energy_kwh > eps]
        o = [clearing.Order(lv.order.id, lv.order.device, lv.energy_kwh, lv.market_rates[i])
             for lv, i in offers if lv.energy_kwh > eps]
        if not mm and not (b and o):
            return []
        if mm:
            sell = self.tree.offer_rate(self.mm_sell_ct_per_kwh, [market])
            o.append(clearing.Order("mm_offer", MARKET_MAKER, 1e9, sell))
            b.append(clearing.Order("mm_bid", MARKET_MAKER, 1e9, self.mm_buy_ct_per_kwh))
        if self.rule == "pay_as_bid":
            raw = clearing.pay_as_bid(b, o)
        elif self.rule == "pay_as_clear":
            raw = clearing.pay_as_clear(b, o, self_trades=False)[1]
        elif self.rule == "pda_uniform":
            raw = clearing.pda_uniform(b, o)[1]
        else:
            raw = clearing.pay_as_offer([b[i] for i in self.rng.permutation(len(b))], o,
                                        self.rng)
        out = []
        for t in raw:
            (bid_lv, bi), (offer_lv, oi) = (index.get(t.bid_id, (None, 0)),
                                            index.get(t.offer_id, (None, 0)))
            bid_left = bid_lv.path[:bi] if bid_lv else []
            offer_in = offer_lv.path[:oi + 1] if offer_lv else [market]
            buyer_rate, seller_rate, fees = self._settle(t.rate_ct_per_kwh, bid_left, offer_in)
            out.append(self._settled(tick, market, t, bid_lv, offer_lv,
                                     buyer_rate, seller_rate, fees))
        return out
