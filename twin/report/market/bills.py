"""Participants' bills behind their meters, on a stored-energy-neutral utility-only base,
and the reconciliation of the bills with the site's energy cost.

Sign convention: positive = consumption / charging / import; a bill is what its party
pays (negative: it earned); a saving is positive when the market bill is the lower; a
positive stored change means the batteries ended fuller than they started. Energies
in kWh, money in ct (``_ct``) or EUR (``_eur``).

- **Self-pairs.** A trade whose buyer and seller are the same participant (its battery
  feeding its own load or EV, its PV charging its own battery) never crosses its meter:
  it is netted behind the meter and counted as the participant's own consumption
  (``self_supplied_kwh``), not as a purchase or sale, not as peer-to-peer trade. The
  clearing rules do produce such pairs between two devices of one participant (gsy-e's
  house markets do too: only a device's pairing with itself is dropped) and gsy-e's
  exports under ``gsy/`` keep them, as gsy-e would; any fee booked on them is no fee a
  meter pays (``self_supplied_fee_ct``).
- **Utility-only base** (``utility_only_ct``): what the participant's meter would pay
  with the utility only for the same households, PV and EV charging, its batteries
  idle: per slot, the sum of those devices' delivered energy behind the meter, at the
  tariff when positive, at the feed-in price when negative. Households and PV do not
  depend on the clearing rule; ``compare`` computes the base once, from its first rule's
  run, and uses it for every rule (the EV energy each rule delivered is shown beside).
- **Stored-energy-neutral saving**: ``saving_ct = utility_only_ct - (net_bill_ct -
  stored_value_ct)``, ``stored_value_ct = 100 * service_price_eur_per_kwh *
  stored_change_kwh`` (:mod:`twin.report.service`: the time-weighted mean import price over
  the run), so energy drained from a battery is not free.
- ``saving_percent`` = saving / base x 100, NaN when the base is zero or below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.report import service
from twin.report.market.kpis import EXTERNALS, IMBALANCE, MarketRecord

BASE_KINDS = ("load", "pv", "ev")  # the devices of the utility-only base (batteries idle)


def self_pairs(trades: pd.DataFrame) -> pd.Series:
    """True for the market trades whose buyer and seller are one participant."""
    return ((trades["buyer"] == trades["seller"]) & (trades["market"] != IMBALANCE)
            & ~trades["buyer"].isin(EXTERNALS))


def between_parties(trades: pd.DataFrame) -> pd.DataFrame:
    """The trades that cross a meter (self-pairs netted out)."""
    return trades[~self_pairs(trades)]


def service_price_eur_per_kwh(record: MarketRecord) -> float:
    """:func:`twin.report.service.service_price_eur_per_kwh` of a market run's tariff. [EUR/kWh]"""
    return service.service_price_eur_per_kwh(
        record.prices["tariff_ct_per_kwh"].astype(float).to_numpy() / 100.0)


def participant_roles(record: MarketRecord) -> pd.Series:
    """Each participant's role from its devices: ``prosumer`` (PV and consumption),
    ``producer`` (PV only), ``consumer with storage`` (battery, no PV), ``consumer``."""
    kinds = record.devices.groupby("participant")["kind"].agg(set)
    kinds = kinds.reindex(record.participants["participant"]).apply(
        lambda k: k if isinstance(k, set) else set())

    def role(k: set) -> str:
        if "pv" in k:
            return "prosumer" if k & {"load", "ev"} else "producer"
        return "consumer with storage" if "battery" in k else "consumer"

    return kinds.map(role).rename("role")


def utility_only_ct(record: MarketRecord) -> pd.Series:
    """Each participant's utility-only bill (module docstring). [ct]"""
    dev = record.devices.set_index("device")
    en = record.energy[record.energy["device"].map(dev["kind"]).isin(BASE_KINDS)]
    en = en.assign(participant=en["device"].map(dev["participant"]))
    net = en.groupby(["slot_start", "participant"])["energy_kwh"].sum().rename("kwh") \
        .reset_index()
    net = net.merge(record.prices, on="slot_start", how="left")
    bill = np.where(net["kwh"] > 0, net["kwh"] * net["tariff_ct_per_kwh"],
                    net["kwh"] * net["feed_in_ct_per_kwh"])
    members = record.participants["participant"]
    return pd.Series(bill, index=net.index).groupby(net["participant"]).sum() \
        .reindex(members, fill_value=0.0).rename("utility_only_ct")


def _flows(record: MarketRecord, parties: pd.Index) -> pd.DataFrame:
    t = record.trades
    own = self_pairs(t)
    x, e = t[~own], t["energy_kwh"]
    buy = pd.DataFrame({"party": x["buyer"], "bought_kwh": e[~own],
                        "paid_ct": e[~own] * x["buyer_rate_ct_per_kwh"],
                        "fee_ct": e[~own] * (x["buyer_rate_ct_per_kwh"] - x["rate_ct_per_kwh"])})
    sell = pd.DataFrame({"party": x["seller"], "sold_kwh": e[~own],
                         "earned_ct": e[~own] * x["seller_rate_ct_per_kwh"],
                         "fee_ct": e[~own] * (x["rate_ct_per_kwh"] - x["seller_rate_ct_per_kwh"])})
    selfs = pd.DataFrame({"party": t.loc[own, "buyer"], "self_supplied_kwh": e[own],
                          "self_supplied_fee_ct": e[own] * (t.loc[own, "buyer_rate_ct_per_kwh"]
                                                            - t.loc[own, "seller_rate_ct_per_kwh"])})
    cols = ["bought_kwh", "sold_kwh", "self_supplied_kwh", "paid_ct", "earned_ct", "fee_ct",
            "self_supplied_fee_ct"]
    return pd.concat([buy, sell, selfs]).groupby("party").sum().reindex(
        parties, columns=cols).fillna(0.0)


BILL_COLUMNS = ["type", "role", "bought_kwh", "sold_kwh", "self_supplied_kwh", "paid_ct",
                "earned_ct", "fee_ct", "net_bill_ct", "stored_change_kwh", "stored_value_ct",
                "utility_only_ct", "saving_ct", "saving_percent", "self_supplied_fee_ct"]


def meter_bills(record: MarketRecord, base_ct: pd.Series | None = None,
                price_eur_per_kwh: float | None = None) -> pd.DataFrame:
    """Every participant's (and external's) bill at its meter (index: party); the columns
    of ``market/bills.csv`` (README). ``base_ct``: a utility-only base to use instead of
    this run's (``compare``'s common base); ``price_eur_per_kwh``: the service price."""
    members = list(record.participants["participant"])
    parties = pd.Index(members + list(EXTERNALS), name="party")
    out = _flows(record, parties)
    out.insert(0, "role", participant_roles(record).reindex(parties).fillna("external"))
    out.insert(0, "type", record.participants.set_index("participant")["type"]
               .reindex(parties).fillna("external"))
    out["net_bill_ct"] = out["paid_ct"] - out["earned_ct"]
    price = service_price_eur_per_kwh(record) if price_eur_per_kwh is None \
        else price_eur_per_kwh
    stored = record.stored.groupby("participant")["stored_change_kwh"].sum() \
        if len(record.stored) else pd.Series(dtype=float)
    out["stored_change_kwh"] = stored.reindex(members).reindex(parties).fillna(0.0)
    out.loc[list(EXTERNALS), "stored_change_kwh"] = np.nan
    out["stored_value_ct"] = 100.0 * price * out["stored_change_kwh"]
    base = utility_only_ct(record) if base_ct is None else base_ct
    out["utility_only_ct"] = base.reindex(members).reindex(parties)
    out["saving_ct"] = out["utility_only_ct"] - (out["net_bill_ct"] - out["stored_value_ct"])
    out["saving_percent"] = out["saving_ct"] / out["utility_only_ct"].where(
        out["utility_only_ct"] > 0) * 100.0
    return out[BILL_COLUMNS]


def percent_text(value: float) -> str:
    """A percentage for a report: "n/a (base <= 0)" when undefined."""
    return "n/a (base <= 0)" if not np.isfinite(value) else f"{value:.1f} %"


def _site_slots(record: MarketRecord) -> pd.DataFrame:
    """Per slot: the site meter's import, losses, its price (tariff when importing,
    feed-in when exporting) and the externals' sales and purchases. [kWh, ct/kWh]"""
    s = record.site.merge(record.prices, on="slot_start", how="left")
    s["price_ct_per_kwh"] = np.where(s["import_kwh"] > 0, s["tariff_ct_per_kwh"],
                                     s["feed_in_ct_per_kwh"])
    t = record.trades
    for name, side in (("ext_sold_kwh", "seller"), ("ext_bought_kwh", "buyer")):
        e = t[t[side].isin(EXTERNALS)].groupby("slot_start")["energy_kwh"].sum()
        s[name] = e.reindex(s["slot_start"]).fillna(0.0).to_numpy()
    return s


RECONCILIATION_TERMS = [
    ("participants_bills", "Participants' net bills at their meters"),
    ("grid_fees", "less grid fees on trades crossing a meter (kept by the markets)"),
    ("externals", "= earned by the market maker and the utility (their bills, sign flipped)"),
    ("feeder_losses", "plus feeder losses at the site meter's price of their slot"),
    ("site_netting", "plus the site meter's netting: the externals' sales less purchases "
                     "at the meter's price of their slot, less what they earned"),
    ("expected", "= expected site energy cost"),
    ("site_cost", "Site energy cost at the transformer meter (kpis cost_eur)"),
    ("residual", "Residual (site cost - expected)"),
]


def reconciliation(record: MarketRecord, bills: pd.DataFrame | None = None) -> pd.Series:
    """Participants' bills + market maker + grid fees + feeder losses = the site's energy
    cost, term by term (index: RECONCILIATION_TERMS keys). [EUR]"""
    b = meter_bills(record) if bills is None else bills
    people, ext = b[b["type"] != "external"], b[b["type"] == "external"]
    s = _site_slots(record)
    p = s["price_ct_per_kwh"]
    out = {"participants_bills": people["net_bill_ct"].sum(), "grid_fees": -b["fee_ct"].sum(),
           "externals": -ext["net_bill_ct"].sum(),
           "feeder_losses": (s["loss_kwh"] * p).sum(),
           "site_netting": (p * (s["ext_sold_kwh"] - s["ext_bought_kwh"])).sum()
           + ext["net_bill_ct"].sum()}
    out["expected"] = out["participants_bills"] + out["grid_fees"] + out["feeder_losses"] \
        + out["site_netting"]
    out["site_cost"] = (s["import_kwh"] * p).sum()
    out["residual"] = out["site_cost"] - out["expected"]
    return pd.Series(out, name="eur") / 100.0
