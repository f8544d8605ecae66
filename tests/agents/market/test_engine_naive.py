"""The slot book's short cuts change no trade: against the book as first written.

``naive_engine.NaiveBook`` rebuilds and clears every market afresh each tick; the real
book skips markets without a crossing pair, keeps clearing orders and settlement terms,
and skips unchanged orders in ``sync``. Random communities (re-pricing, partial fills,
withdrawals, forwarding up a two-level tree, constant and percentage fees, with and
without a market maker) must give the same trades, float for float, under every rule.
"""

import numpy as np
import pytest

from agents.market.areas import GridFee, feeder_tree
from agents.market.engine import RULES, OrderIn, SlotBook
from tests.agents.market.naive_engine import NaiveBook


def community(seed: int, n: int = 14):
    rng = np.random.default_rng(seed)
    houses = {f"h{i}": (f"f{1 + i % 3}_b{1 + i % 4}" if i % 5 else "lv_busbar")
              for i in range(n)}
    fees = {"house": GridFee(constant_ct_per_kwh=float(rng.choice([0.0, 0.2]))),
            "lv_feeder": GridFee(constant_ct_per_kwh=0.5, percent=float(rng.choice([0, 1]))),
            "mv": GridFee(constant_ct_per_kwh=1.0)}
    orders = []
    for i, h in enumerate(houses):
        orders.append(("bid", f"{h}/load", h))
        if i % 2:
            orders.append(("offer", f"{h}/pv", h))
        if i % 3 == 0:  # a battery on both sides, one device
            orders += [("bid", f"{h}/bat", h), ("offer", f"{h}/bat", h)]
    return feeder_tree(houses, fees), orders


def run(book_cls, rule: str, seed: int, market_maker: bool, slots: int = 6, ticks: int = 10):
    tree, devices = community(seed)
    book = book_cls(tree, rule, np.random.default_rng(seed), market_maker=market_maker)
    rng = np.random.default_rng(seed + 100)
    trades = []
    for slot in range(1, slots + 1):
        book.close()
        book.open(slot, float(rng.choice([15.5, 20.6, 24.6])), 10.0)
        left = {f"{d}:{s}": float(rng.uniform(0.0, 3.0)) for s, d, _ in devices}
        rate = {}
        for tick in range(ticks):
            orders = []
            for side, device, house in devices:
                oid = f"{device}:{side}"
                if tick % 3 == 0 or oid not in rate:  # re-priced at update points
                    span = rng.uniform(8.0, 28.0)
                    rate[oid] = float(np.round(span, int(rng.integers(0, 3))))  # ties too
                if left[oid] > 1e-9 and rng.random() > 0.05:  # now and then withdrawn
                    orders.append(OrderIn(oid, device, house, side, left[oid], rate[oid],
                                          house))
            book.sync(orders)
            new = book.tick(tick)
            for t in new:
                for oid in (t.bid_id, t.offer_id):
                    if oid in left:
                        left[oid] -= t.energy_kwh
            trades += new
    return trades


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("market_maker", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_trades_as_the_book_as_first_written(rule, market_maker, seed):
    fast = run(SlotBook, rule, seed, market_maker)
    naive = run(NaiveBook, rule, seed, market_maker)
    assert len(naive) > 20  # the books did trade, in several markets
    assert len({t.market for t in naive}) > 3
    assert fast == naive  # every field, floats bit for bit
