"""Plots of a market run: prices and volumes per slot, savings by participant type."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from twin.report.market.bills import self_pairs  # noqa: E402
from twin.report.market.kpis import EXTERNALS, IMBALANCE  # noqa: E402
from twin.report.market.summary import p2p_trades  # noqa: E402

SOURCES = ["own (behind the meter)", "house", "lv_feeder", "mv", "market maker",
           "utility (imbalance)"]
COLORS = ["#a8dadc", "#2a9d8f", "#8ab17d", "#e9c46a", "#f4a261", "#e76f51"]


def _local(index, tz: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(index).tz_convert(tz).tz_localize(None)


def volume_by_source(trades: pd.DataFrame, levels: dict[str, str]) -> pd.DataFrame:
    """Energy traded per slot by where it was matched: a participant's own devices
    (netted behind its meter), house, LV feeder or MV market between participants, with the market maker, or settled as imbalance. [kWh]"""
    ext = trades["buyer"].isin(EXTERNALS) | trades["seller"].isin(EXTERNALS)
    source = trades["market"].map(levels).where(~ext, "market maker")
    source = source.where(trades["market"] != IMBALANCE, "utility (imbalance)")
    source = source.where(~self_pairs(trades), "own (behind the meter)")
    table = trades.assign(source=source).pivot_table(
        index="slot_start", columns="source", values="energy_kwh", aggfunc="sum")
    return table.reindex(columns=SOURCES).fillna(0.0)


def p2p_rate(trades: pd.DataFrame) -> pd.Series:
    """Energy-weighted mean rate of the trades between participants per slot. [ct/kWh]"""
    p2p = p2p_trades(trades)
    w = p2p.assign(x=p2p["energy_kwh"] * p2p["rate_ct_per_kwh"]).groupby("slot_start")
    return w["x"].sum() / w["energy_kwh"].sum()


def price_volume(trades: pd.DataFrame, levels: dict[str, str], prices: pd.DataFrame,
                 tz: str) -> Figure:
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True,
                                   gridspec_kw={"height_ratios": [1, 1.2]})
    p = prices.set_index("slot_start")
    t = _local(p.index, tz)
    ax1.step(t, p["tariff_ct_per_kwh"], where="post", color="#c1121f", lw=1.2,
             label="tariff (market maker sells)")
    ax1.step(t, p["feed_in_ct_per_kwh"], where="post", color="#555", lw=1.2,
             label="feed-in (market maker buys)")
    r = p2p_rate(trades)
    ax1.plot(_local(r.index, tz), r.to_numpy(), "o", ms=3, color="#264653",
             label="peer-to-peer, mean rate")
    ax1.set_ylabel("rate [ct/kWh]")
    ax1.legend(loc="upper left", fontsize=8, ncol=3)
    ax1.set_title("Prices and traded energy per delivery slot")
    v = volume_by_source(trades, levels)
    width = (t[1] - t[0]) if len(t) > 1 else pd.Timedelta(minutes=15)
    bottom = np.zeros(len(v))
    x = _local(v.index, tz)
    for src, color in zip(SOURCES, COLORS, strict=True):
        ax2.bar(x, v[src].to_numpy(), width=width, bottom=bottom, align="edge", color=color,
                label=src)
        bottom += v[src].to_numpy()
    ax2.set_ylabel("energy [kWh per slot]")
    ax2.legend(loc="upper left", fontsize=8, ncol=5)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def savings_by_type(bills: pd.DataFrame) -> Figure:
    """Each participant's saving against the utility-only bill, by type. [EUR]"""
    people = bills[bills["type"] != "external"]
    types = sorted(people["type"].unique())
    fig, ax = plt.subplots(figsize=(8, 3.8))
    data = [people.loc[people["type"] == k, "saving_ct"].to_numpy() / 100 for k in types]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(types) + 1), [f"{k}\n(n={len(d)})" for k, d in
                                             zip(types, data, strict=True)])
    for i, d in enumerate(data, start=1):
        ax.plot(np.full(len(d), i) + np.linspace(-0.12, 0.12, len(d)), d, "o", ms=3,
                alpha=0.6, color="#264653")
    ax.axhline(0, color="#888", lw=0.8)
    ax.set_ylabel("saving [EUR]")
    ax.set_title("Saving against the utility-only bill (stored-energy neutral), by type")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig
