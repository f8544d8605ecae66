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

import pandas as pd

from twin.market_kpis import MarketRecord

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
