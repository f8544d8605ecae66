"""Plots of a market run: prices and volumes per slot, savings by participant type."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from twin.report.market.bills import self_pairs  # noqa: E402
from twin.report.market.kpis import EXTERNALS, IMBALANCE  # noqa: E402
from twin.report.market.summary import p2p_trades  # noqa: E402
from twin.report.plots import LONG_RUN_DAYS  # noqa: E402
from twin.report.render import fixed_margins  # noqa: E402

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


def _stacked_steps(ax, x: pd.DatetimeIndex, end, v: pd.DataFrame) -> None:
    """``v``'s columns stacked as steps over ``[x_i, x_i+1)`` (the last to ``end``), one
    filled area per column: what a bar per slot and column shows, in one artist each."""
    edges = np.append(mdates.date2num(x), mdates.date2num(end))
    bottom = np.zeros(len(v) + 1)
    for src, color in zip(SOURCES, COLORS, strict=True):
        top = bottom + np.append(v[src].to_numpy(), 0.0)
        ax.fill_between(edges, bottom, top, step="post", color=color, lw=0, label=src)
        bottom = top


def _daily(frame: pd.DataFrame | pd.Series, tz: str, how: str):
    """Per local day: the rows of a frame indexed by slot start, aggregated by ``how``."""
    return frame.set_axis(_local(frame.index, tz)).resample("1D").agg(how)


def _rates(ax, trades: pd.DataFrame, p: pd.DataFrame, t: pd.DatetimeIndex, end, tz: str,
           long: bool) -> None:
    """Tariff, feed-in and the mean peer-to-peer rate: per slot, or for a long run per
    day (the tariff's daily range, the day's energy-weighted p2p mean and its range)."""
    r = p2p_rate(trades)
    if not long:
        edges = t.append(pd.DatetimeIndex([end]))
        for col, color, label in (("tariff_ct_per_kwh", "#c1121f", "tariff (market maker sells)"),
                                  ("feed_in_ct_per_kwh", "#555", "feed-in (market maker buys)")):
            ax.step(edges, np.append(p[col].to_numpy(), p[col].to_numpy()[-1:]), where="post",
                    color=color, lw=1.2, label=label)
        ax.plot(_local(r.index, tz), r.to_numpy(), "o", ms=3, color="#264653",
                label="peer-to-peer, mean rate")
        return
    tariff = _daily(p["tariff_ct_per_kwh"], tz, ["min", "max"])
    ax.fill_between(tariff.index, tariff["min"], tariff["max"], step="post", color="#c1121f",
                    alpha=0.2, lw=0, label="tariff, daily min-max")
    feed = _daily(p["feed_in_ct_per_kwh"], tz, "mean")
    ax.step(feed.index, feed.to_numpy(), where="post", color="#555", lw=1.2,
            label="feed-in, daily mean")
    band = _daily(r, tz, ["min", "max"])
    ax.fill_between(band.index, band["min"], band["max"], color="#264653", alpha=0.25, lw=0)
    day = daily_p2p_rate(trades, tz)
    ax.plot(day.index, day.to_numpy(), color="#264653", lw=1.2,
            label="peer-to-peer, daily energy-weighted mean (band: range of slot means)")


def daily_p2p_rate(trades: pd.DataFrame, tz: str) -> pd.Series:
    """Energy-weighted mean rate of the trades between participants per local day
    (NaN on a day without any). [ct/kWh]"""
    p2p = p2p_trades(trades)
    day = _daily(p2p.set_index("slot_start")[["energy_kwh"]].assign(
        x=p2p["energy_kwh"].to_numpy() * p2p["rate_ct_per_kwh"].to_numpy()), tz, "sum")
    return day["x"] / day["energy_kwh"].where(day["energy_kwh"] > 0)


def is_long(slot_starts: pd.DatetimeIndex, end) -> bool:
    """True when a run from ``slot_starts[0]`` to ``end`` is drawn per day."""
    return end - slot_starts[0] > pd.Timedelta(days=LONG_RUN_DAYS)


def volume_shown(trades: pd.DataFrame, levels: dict[str, str], prices: pd.DataFrame,
                 tz: str) -> pd.DataFrame:
    """The traded energy the figure stacks, by source (:func:`volume_by_source`): per
    slot (every slot of ``prices``, 0 without trades), or for a long run summed per
    local day; indexed by local wall-clock time. [kWh per slot or per day]"""
    slots = pd.DatetimeIndex(prices["slot_start"])
    v = volume_by_source(trades, levels).reindex(slots, fill_value=0.0)
    t = _local(slots, tz)
    slot = (t[1] - t[0]) if len(t) > 1 else pd.Timedelta(minutes=15)
    return _daily(v, tz, "sum") if is_long(t, t[-1] + slot) else v.set_axis(t)


def price_volume(trades: pd.DataFrame, levels: dict[str, str], prices: pd.DataFrame,
                 tz: str) -> Figure:
    """Rates [ct/kWh] and traded energy by source: per delivery slot, or for a run
    longer than ``LONG_RUN_DAYS`` per day (energy summed per day, rates as daily
    means and ranges); each series one artist."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True,
                                   gridspec_kw={"height_ratios": [1, 1.2]})
    p = prices.set_index("slot_start")
    t = _local(p.index, tz)
    slot = (t[1] - t[0]) if len(t) > 1 else pd.Timedelta(minutes=15)
    end = t[-1] + slot
    long = is_long(t, end)
    _rates(ax1, trades, p, t, end, tz, long)
    ax1.set_ylabel("rate [ct/kWh]")
    ax1.legend(loc="upper left", fontsize=8, ncol=3)
    ax1.set_title("Prices and traded energy per " + ("day (daily sums and means)" if long
                                                     else "delivery slot"), y=1.0)
    v = volume_shown(trades, levels, prices, tz)
    _stacked_steps(ax2, v.index, v.index[-1] + pd.Timedelta(days=1) if long else end, v)
    ax2.set_ylabel(f"energy [kWh per {'day' if long else 'slot'}]")
    ax2.legend(loc="upper left", fontsize=8, ncol=6)
    locator = mdates.AutoDateLocator()
    ax2.xaxis.set_major_locator(locator)
    ax2.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    return fixed_margins(fig, top_in=0.4, bottom_in=0.45, hspace=0.12)


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
    ax.set_title("Saving against the utility-only bill (stored-energy neutral), by type",
                 y=1.0)
    ax.grid(alpha=0.3, axis="y")
    return fixed_margins(fig, left_in=0.8, bottom_in=0.6, top_in=0.4)
