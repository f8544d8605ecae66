"""An independent, row-by-row implementation of the bills at the participants' meters
(``twin.report.market.bills``), for the tests: plain loops over trades and delivered energy,
no pandas group-bys, written from the definitions in the module docstring.
"""

from __future__ import annotations

import math
from collections import defaultdict

EXTERNALS = {"market_maker", "utility"}


def bills(record, price_eur_per_kwh: float, base_ct: dict | None = None) -> dict:
    """{participant: {bought_kwh, sold_kwh, self_supplied_kwh, net_bill_ct,
    stored_value_ct, utility_only_ct, saving_ct, saving_percent}}"""
    out = {p: defaultdict(float) for p in record.participants["participant"]}
    for row in record.trades.itertuples(index=False):
        e = row.energy_kwh
        if row.buyer == row.seller and row.market != "imbalance" and row.buyer in out:
            out[row.buyer]["self_supplied_kwh"] += e
            continue
        if row.buyer in out:
            out[row.buyer]["bought_kwh"] += e
            out[row.buyer]["net_bill_ct"] += e * row.buyer_rate_ct_per_kwh
        if row.seller in out:
            out[row.seller]["sold_kwh"] += e
            out[row.seller]["net_bill_ct"] -= e * row.seller_rate_ct_per_kwh
    owner = dict(zip(record.devices["device"], record.devices["participant"], strict=True))
    kind = dict(zip(record.devices["device"], record.devices["kind"], strict=True))
    tariff = dict(zip(record.prices["slot_start"], record.prices["tariff_ct_per_kwh"],
                      strict=True))
    feed_in = dict(zip(record.prices["slot_start"], record.prices["feed_in_ct_per_kwh"],
                       strict=True))
    meter = defaultdict(float)  # (participant, slot): households + PV + EV, batteries idle
    for row in record.energy.itertuples(index=False):
        if kind[row.device] != "battery":
            meter[(owner[row.device], row.slot_start)] += row.energy_kwh
    base = defaultdict(float)
    for (p, slot), kwh in meter.items():
        base[p] += kwh * (tariff[slot] if kwh > 0 else feed_in[slot])
    for row in record.stored.itertuples(index=False):
        out[row.participant]["stored_value_ct"] += 100 * price_eur_per_kwh \
            * row.stored_change_kwh
    for p, b in out.items():
        b["utility_only_ct"] = (base_ct or base)[p]
        b["saving_ct"] = b["utility_only_ct"] - b["net_bill_ct"] + b["stored_value_ct"]
        b["saving_percent"] = b["saving_ct"] / b["utility_only_ct"] * 100 \
            if b["utility_only_ct"] > 0 else math.nan
    return out
