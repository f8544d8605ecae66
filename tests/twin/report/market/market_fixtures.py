"""A small hand-worked community for the market KPI and gsy-export tests.

Tree: mv (root) -> lv1 -> h1, h2; mv -> lv2 -> h3. Participants h1, h2, h3 live in
the houses of the same name (so "h1" is a child in lv1's market and h1's own link in
h1's market, as in gsy-e). Devices: h1/load, h1/pv, h1/battery; h2/load; h3/load.
Three 15-min slots from 2024-06-01 10:00 America/Martinique. Tariff 20 ct/kWh,
feed-in 10 ct/kWh. Grid fees: lv feeders 1 ct/kWh, mv 2 ct/kWh, houses 0.

Trades (E kWh, rate, buyer rate, seller rate, market; fees per market):

  slot 1  T1  h1/pv -> h1/battery     2.0 @12 (12/12)  h1
          T2  h1/pv -> h2/load        1.0 @14 (15/14)  lv1   lv1 1.0 (buyer side)
          T3  market_maker -> h3/load 1.0 @20 (23/20)  mv    mv 2.0, lv2 1.0 (buyer side)
          T4  h1/pv -> h1/load        1.0 @12 (12/12)  h1
  slot 2  T5  h1/battery -> h2/load   1.5 @15 (15/14)  lv1   lv1 1.5 (seller side)
          T6  market_maker -> h1/bat. 1.0 @20 (23/20)  mv    mv 2.0, lv1 1.0 (buyer side)
          T7  h1/battery -> h1/load   0.5 @13 (13/13)  h1
  slot 3  T8  h1/battery -> h1/load   1.0 @13 (13/13)  h1
          T9  utility -> h3 (no dev.) 1.2 @20 (20/20)  imbalance
          T10 h1/pv -> utility        0.5 @10 (10/10)  imbalance

Delivered energy (kWh, + consumption): slot 1 h1/pv -4, h1/battery +2, h1/load +1,
h2/load +1, h3/load +1; slot 2 h1/battery -1 (+1 -1.5 -0.5), h1/load +0.5, h2/load +1.5;
slot 3 h1/battery -1, h1/load +1, h1/pv -0.5, h3/load +1.2.
"""

from __future__ import annotations

from bisect import bisect

import numpy as np
import pandas as pd

from twin.report.market.kpis import MarketRecord

TZ = "America/Martinique"
SLOTS = pd.date_range("2024-06-01 10:00", periods=3, freq="15min", tz=TZ)

# (id, slot, tick, market, buyer, seller, buyer_device, seller_device, E, rate, br, sr)
TRADES = [
    ("T1", 0, 1, "h1", "h1", "h1", "h1/battery", "h1/pv", 2.0, 12, 12, 12),
    ("T2", 0, 2, "lv1", "h2", "h1", "h2/load", "h1/pv", 1.0, 14, 15, 14),
    ("T3", 0, 3, "mv", "h3", "market_maker", "h3/load", "", 1.0, 20, 23, 20),
    ("T4", 0, 4, "h1", "h1", "h1", "h1/load", "h1/pv", 1.0, 12, 12, 12),
    ("T5", 1, 1, "lv1", "h2", "h1", "h2/load", "h1/battery", 1.5, 15, 15, 14),
    ("T6", 1, 2, "mv", "h1", "market_maker", "h1/battery", "", 1.0, 20, 23, 20),
    ("T7", 1, 3, "h1", "h1", "h1", "h1/load", "h1/battery", 0.5, 13, 13, 13),
    ("T8", 2, 1, "h1", "h1", "h1", "h1/load", "h1/battery", 1.0, 13, 13, 13),
    ("T9", 2, 2, "imbalance", "h3", "utility", "", "", 1.2, 20, 20, 20),
    ("T10", 2, 3, "imbalance", "utility", "h1", "", "h1/pv", 0.5, 10, 10, 10),
]
# (trade id, market, E, fee ct)
FEES = [("T2", "lv1", 1.0, 1.0), ("T3", "mv", 1.0, 2.0), ("T3", "lv2", 1.0, 1.0),
        ("T5", "lv1", 1.5, 1.5), ("T6", "mv", 1.0, 2.0), ("T6", "lv1", 1.0, 1.0)]
ENERGY = {  # device: kWh per slot
    "h1/pv": [-4.0, 0.0, -0.5], "h1/battery": [2.0, -1.0, -1.0],
    "h1/load": [1.0, 0.5, 1.0], "h2/load": [1.0, 1.5, 0.0], "h3/load": [1.0, 0.0, 1.2],
}


def community(with_trade_ids: bool = True) -> MarketRecord:
    """The community of the module docstring as a MarketRecord."""
    areas = pd.DataFrame({"area": ["mv", "lv1", "lv2", "h1", "h2", "h3"],
                          "parent": [None, "mv", "mv", "lv1", "lv1", "lv2"],
                          "level": ["mv", "lv_feeder", "lv_feeder", "house", "house",
                                    "house"]})
    devices = pd.DataFrame({
        "device": ["h1/load", "h1/pv", "h1/battery", "h2/load", "h3/load"],
        "participant": ["h1", "h1", "h1", "h2", "h3"],
        "kind": ["load", "pv", "battery", "load", "load"],
        "area": ["h1", "h1", "h1", "h2", "h3"]})
    participants = pd.DataFrame({"participant": ["h1", "h2", "h3"],
                                 "type": ["single_family", "multi_family", "commercial"],
                                 "area": ["h1", "h2", "h3"]})
    trades = pd.DataFrame(TRADES, columns=[
        "trade_id", "slot", "tick", "market", "buyer", "seller", "buyer_device",
        "seller_device", "energy_kwh", "rate_ct_per_kwh", "buyer_rate_ct_per_kwh",
        "seller_rate_ct_per_kwh"])
    trades.insert(0, "slot_start", SLOTS[trades.pop("slot")])
    for c in ("rate_ct_per_kwh", "buyer_rate_ct_per_kwh", "seller_rate_ct_per_kwh"):
        trades[c] = trades[c].astype(float)
    slot_of = dict(zip(trades["trade_id"], trades["slot_start"], strict=True))
    fees = pd.DataFrame(FEES, columns=["trade_id", "market", "energy_kwh", "fee_ct"])
    fees.insert(0, "slot_start", fees["trade_id"].map(slot_of))
    if not with_trade_ids:
        trades, fees = trades.drop(columns="trade_id"), fees.drop(columns="trade_id")
    energy = pd.DataFrame([(SLOTS[k], d, e) for d, es in ENERGY.items()
                           for k, e in enumerate(es)],
                          columns=["slot_start", "device", "energy_kwh"])
    prices = pd.DataFrame({"slot_start": SLOTS, "tariff_ct_per_kwh": 20.0,
                           "feed_in_ct_per_kwh": 10.0})
    return MarketRecord(areas, devices, participants, trades, fees, energy, prices)


TRADE_FIELDS = ["trade_id", "slot_start", "tick", "market", "buyer", "seller", "buyer_device",
                "seller_device", "energy_kwh", "rate_ct_per_kwh", "buyer_rate_ct_per_kwh",
                "seller_rate_ct_per_kwh"]
KINDS, ODDS = ["p2p", "home", "mm_sells", "mm_buys", "imbalance"], [.45, .65, .8, .9]


def _pick(options: list[str], u: float) -> str:
    return options[int(u * len(options))]


class _Town:
    """The random community's tree and devices (``random_community``), and its trades
    drawn one at a time from a row of uniform draws."""

    def __init__(self, g: np.random.Generator, houses: int):
        n_feeders = max(2, -(-houses // 100))
        self.feeders = [f"f{k + 1}" for k in range(n_feeders)]
        self.names = [f"p{i + 1:04d}" for i in range(houses)]
        home = {h: self.feeders[i % n_feeders] for i, h in enumerate(self.names)}
        self.parent = {"mv": None, **dict.fromkeys(self.feeders, "mv"), **home,
                       "vacant": self.feeders[-1]}
        self.devices = [(f"{h}/{kind}", h, kind, h) for h in self.names for kind, p in (
            ("load", 1.0), ("pv", 0.6), ("battery", 0.4), ("ev", 0.3)) if g.random() < p]
        self.devices.append(("c1/battery", "c1", "battery", "f1"))
        self.owner = {d: (p, a) for d, p, _, a in self.devices}
        self.sellers = [d for d, _, k, _ in self.devices if k in ("pv", "battery")]
        self.buyers = [d for d, _, k, _ in self.devices if k in ("load", "battery", "ev")]
        self.fee_rate = {"mv": 1.0, **dict.fromkeys(self.feeders, 0.5)}
        self.kit: dict[str, list[str]] = {}  # participant -> devices
        for d, (p, _) in self.owner.items():
            self.kit.setdefault(p, []).append(d)
        self.feeder = {d: a if a in self.feeders else self.parent[a]
                       for d, (_, a) in self.owner.items()}
        self.near = {f: [d for d in self.buyers if self.feeder[d] == f] for f in self.feeders}

    def up(self, area: str) -> list[str]:
        line = [area]
        while self.parent[line[-1]]:
            line.append(self.parent[line[-1]])
        return line

    def path(self, a: str, b: str) -> tuple[list[str], str]:
        up_a, up_b = self.up(a), self.up(b)
        common = next(x for x in up_a if x in up_b)
        return up_a[:up_a.index(common) + 1] + up_b[:up_b.index(common)][::-1], common

    def imbalance(self, tid: int, slot, u: list[float], e: float, rate: float) -> tuple:
        party = _pick([*self.names, "c1"], u[2])
        dev = _pick([*self.kit[party], ""], u[3])
        ends = (party, "utility", dev, "") if u[4] < .5 else ("utility", party, "", dev)
        return (tid, slot, 0, "imbalance", *ends, e, rate, rate, rate)

    def ends(self, kind: str, u: list[float]) -> tuple[str, str]:
        """(seller, buyer) of a market trade of ``kind``."""
        seller = _pick(self.sellers, u[2]) if kind != "mm_sells" else "market_maker"
        buyer = _pick(self.near[self.feeder[seller]] if seller in self.feeder and u[4] < .7
                      else self.buyers, u[3]) if kind != "mm_buys" else "market_maker"
        if kind == "home":  # between the devices of one participant
            buyer = _pick([d for d in self.kit[self.owner[seller][0]] if d in self.buyers]
                          or [seller], u[3])
        return seller, buyer

    def market_trade(self, tid: int, slot, u: list[float], kind: str, e: float,
                     prices: dict[str, float]) -> tuple[tuple, list[tuple]] | None:
        """A market trade and its fee rows, or None (seller and buyer the same)."""
        seller, buyer = self.ends(kind, u)
        if seller == buyer:
            return None
        markets, market = self.path(*(self.owner.get(d, (d, "mv"))[1] for d in (seller, buyer)))
        market = "mv" if u[5] < .03 else market  # recorded off the path now and then
        e = 0.0 if len(markets) == 1 and u[6] < .2 else e
        rate = prices.get(kind, 8 + 14 * u[7])
        per_kwh = sum(self.fee_rate.get(m, 0.0) for m in markets)
        br, sr = (rate + per_kwh, rate) if u[8] < .5 else (rate, rate - per_kwh)
        br += .1 if u[9] < .05 else 0.0  # a remainder not covered by the fees
        row = (tid, slot, int(4 * u[10]), market, self.owner.get(buyer, (buyer,))[0],
               self.owner.get(seller, (seller,))[0], buyer if buyer in self.owner else "",
               seller if seller in self.owner else "", e, rate, br, sr)
        fees = [(tid, slot, m, e, e * self.fee_rate[m]) for m in markets
                if m in self.fee_rate and e > 0]
        return row, fees


def _delivered(trades: list[tuple], slot_starts, devices) -> pd.DataFrame:
    """Each device's energy per slot: its trades' net, loads 0.05 kWh more. [kWh]"""
    net = {}
    for _, slot, _, _, _, _, bd, sd, e, *_ in trades:
        for dev, sign in ((bd, 1.0), (sd, -1.0)):
            if dev:
                net[(slot, dev)] = net.get((slot, dev), 0.0) + sign * e
    return pd.DataFrame([(s, d, net.get((s, d), 0.0) + (.05 if d.endswith("load") else 0.0))
                         for s in slot_starts for d, *_ in devices],
                        columns=["slot_start", "device", "energy_kwh"])


def random_community(houses: int = 12, slots: int = 4, seed: int = 0,
                     with_trade_ids: bool = True) -> MarketRecord:
    """A seeded random community shaped like a real run, for oracle and benchmark checks.

    Tree: mv -> f1, f2, ... (one feeder per 100 houses, at least two) -> houses p0001...,
    plus one house without anyone ("vacant"). Each participant lives in its house with a
    load and maybe a pv, battery, ev; participant "c1" owns a feeder battery in f1. Per
    slot about 1.2 trades per house: peer-to-peer between devices (in the lowest common
    market, now and then recorded in mv instead; zero energy now and then inside a
    house), between the devices of one participant, the market maker selling and
    buying, imbalance rows with the utility (with and without a named device). Grid
    fees: feeders 0.5 ct/kWh, mv 1 ct/kWh, paid on the buyer's or the seller's side,
    and now and then a buyer rate a little above rate + fees. Ticks repeat within a slot
    and rows come shuffled, so the stable time sort matters.
    """
    g = np.random.default_rng(seed)
    town = _Town(g, houses)
    slot_starts = pd.date_range("2024-06-01 00:00", periods=slots, freq="15min", tz=TZ)
    tariff, feed_in = g.uniform(15, 25, slots), g.uniform(5, 10, slots)
    trades, fees = [], []
    for k, slot in enumerate(slot_starts):
        prices = {"mm_sells": float(tariff[k]), "mm_buys": float(feed_in[k])}
        for u in g.random((round(1.2 * houses) + 2, 11)).tolist():  # one row of draws a trade
            kind, e, tid = KINDS[bisect(ODDS, u[0])], 0.01 + 2.99 * u[1], len(trades)
            if kind == "imbalance":
                trades.append(town.imbalance(tid, slot, u, e, float(tariff[k])))
                continue
            made = town.market_trade(tid, slot, u, kind, e, prices)
            if made is not None:
                trades.append(made[0])
                fees += made[1]
    energy = _delivered(trades, slot_starts, town.devices)
    trades = pd.DataFrame([trades[i] for i in g.permutation(len(trades))], columns=TRADE_FIELDS)
    fees = pd.DataFrame(fees, columns=["trade_id", "slot_start", "market", "energy_kwh",
                                       "fee_ct"])
    if not with_trade_ids:
        trades, fees = trades.drop(columns="trade_id"), fees.drop(columns="trade_id")
    return MarketRecord(
        pd.DataFrame({"area": list(town.parent), "parent": list(town.parent.values()),
                      "level": ["mv", *["lv_feeder"] * len(town.feeders),
                                *["house"] * (houses + 1)]}),
        pd.DataFrame(town.devices, columns=["device", "participant", "kind", "area"]),
        pd.DataFrame({"participant": [*town.names, "c1"],
                      "type": [*["single_family"] * houses, "community"],
                      "area": [*town.names, "f1"]}),
        trades, fees, energy,
        pd.DataFrame({"slot_start": slot_starts, "tariff_ct_per_kwh": tariff,
                      "feed_in_ct_per_kwh": feed_in}))
