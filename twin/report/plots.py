"""Matplotlib figures of a run (each function returns a Figure; no file I/O here).

Sign convention of the data: positive = consumption / charging / import. In the
power-balance plot consumption is drawn above zero and production below.
Runs longer than two weeks are drawn as daily envelopes (min, mean, max) so a year
stays readable.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from twin.report.render import fixed_margins  # noqa: E402

LONG_RUN_DAYS = 14
COLORS = {
    "load": "#8c564b", "ev": "#1f77b4", "battery": "#2ca02c", "pv": "#ffbf00",
    "import": "#d62728", "loss": "#7f7f7f",
}


def _long(index: pd.Index) -> bool:
    return len(index) > 1 and (index[-1] - index[0]) > pd.Timedelta(days=LONG_RUN_DAYS)


def _daily(series: pd.Series | pd.DataFrame) -> pd.DataFrame:
    return series.resample("1D").agg(["min", "mean", "max"])


def _finish(fig: Figure, ax, ylabel: str, title: str, right_in: float = 0.25,
            left_in: float = 0.85) -> Figure:
    """Labels, grid and fixed margins [inch] (``right_in``: room for a right axis or a
    colour bar's label, ``left_in`` for long tick labels); the title at a fixed place,
    so drawing does not measure the axes."""
    ax.set_ylabel(ylabel)
    ax.set_xlabel("local time")
    ax.set_title(title, loc="left", fontsize=11, y=1.0)
    ax.grid(True, alpha=0.3)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    return fixed_margins(fig, left_in=left_in, right_in=right_in)


def _envelope(ax, series: pd.Series, color: str, label: str) -> None:
    """A line for short runs, a daily min-max band with the daily mean for long ones."""
    if _long(series.index):
        d = _daily(series)
        ax.fill_between(d.index, d["min"], d["max"], color=color, alpha=0.25, lw=0)
        ax.plot(d.index, d["mean"], color=color, lw=1.2, label=f"{label} (daily mean, min-max)")
    else:
        ax.plot(series.index, series, color=color, lw=1.2, label=label)


def power_balance(p: pd.DataFrame) -> Figure:
    """Stacked site powers by class and the grid import. ``p`` from kpis.site_powers_kw."""
    fig, ax = plt.subplots(figsize=(11, 4.2))
    frame = p[["load", "ev", "battery", "pv"]]
    if _long(p.index):
        frame = frame.resample("1D").mean()
        imp = p["import"].resample("1D").mean()
        title = "Site power balance (daily means)"
    else:
        imp = p["import"]
        title = "Site power balance"
    pos = frame.clip(lower=0.0)
    neg = frame.clip(upper=0.0)
    x = frame.index
    labels = {"load": "households", "ev": "EV charging", "battery": "battery", "pv": "PV"}
    ax.stackplot(x, *[pos[c] for c in pos], colors=[COLORS[c] for c in pos], alpha=0.8,
                 labels=[labels[c] for c in pos], step="post")
    ax.stackplot(x, *[neg[c] for c in neg], colors=[COLORS[c] for c in neg], alpha=0.8,
                 step="post")
    ax.step(x, imp, where="post", color="k", lw=1.0, label="grid import (+) / export (-)")
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(loc="upper left", fontsize=8, ncol=5)
    return _finish(fig, ax, "power [kW]  (+ consumption, - production)", title)


def pv(p_kw: pd.Series, p_avail_kw: pd.Series, ghi: pd.Series | None) -> Figure:
    fig, ax = plt.subplots(figsize=(11, 3.6))
    _envelope(ax, -p_avail_kw, "#bbbbbb", "PV available")
    _envelope(ax, -p_kw, COLORS["pv"], "PV delivered")
    if ghi is not None and not _long(ghi.index):
        ax2 = ax.twinx()
        ax2.plot(ghi.index, ghi, color="#9467bd", lw=0.8, alpha=0.6, label="GHI")
        ax2.set_ylabel("GHI [W/m²]")
        ax2.legend(loc="upper right", fontsize=8)
    ax.legend(loc="upper left", fontsize=8)
    return _finish(fig, ax, "production [kW]", "PV production, all systems",
                   right_in=0.25 if ghi is None or _long(ghi.index) else 0.85)


def soc(battery_soc: pd.DataFrame, ev_soc: pd.DataFrame, limits: tuple[float, float]) -> Figure:
    fig, ax = plt.subplots(figsize=(11, 3.6))
    if battery_soc.shape[1]:
        _envelope(ax, battery_soc.mean(axis=1), COLORS["battery"], "batteries, mean")
        if not _long(battery_soc.index):
            ax.fill_between(battery_soc.index, battery_soc.min(axis=1), battery_soc.max(axis=1),
                            color=COLORS["battery"], alpha=0.2, lw=0, label="batteries, min-max")
    if ev_soc.shape[1]:
        _envelope(ax, ev_soc.mean(axis=1), COLORS["ev"], "EVs, mean")
    for y in limits:
        ax.axhline(y, color=COLORS["battery"], ls=":", lw=0.8)
    ax.set_ylim(0, 100)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize=8)
    return _finish(fig, ax, "state of charge [%]", "State of charge (dotted: battery limits)")


def _stays(events: pd.DataFrame) -> list[tuple]:
    """Plugged-in stays from the EV events: (charger, plug-in [s], leave [s] or None,
    delivered [kWh] or None, unmet energy at departure) in plug-in order per charger."""
    stays = []
    open_stay: dict[str, float] = {}
    if events.empty:
        return stays
    e = events.sort_values("t_s", kind="stable")
    unmet = e["session_e_unmet_kwh"] if "session_e_unmet_kwh" in e else pd.Series(0.0, e.index)
    delivered = e["session_e_delivered_kwh"] if "session_e_delivered_kwh" in e \
        else pd.Series(float("nan"), e.index)
    for kind, charger, t_s, e_kwh, unmet_kwh in zip(e["kind"], e["charger"], e["t_s"],
                                                   delivered, unmet, strict=True):
        if kind == "plug_in":
            open_stay[charger] = float(t_s)
        elif kind == "departure" and charger in open_stay:
            stays.append((charger, open_stay.pop(charger), float(t_s), float(e_kwh),
                          float(unmet_kwh) > 1e-6))
    return stays + [(c, t0, None, None, False) for c, t0 in open_stay.items()]


def ev_sessions(events: pd.DataFrame, charger_ids: list[str], start, end) -> Figure:
    """One row per charger, a bar per plugged-in stay (to the end if still plugged),
    coloured by the energy delivered; all bars of a kind drawn in one call."""
    fig, ax = plt.subplots(figsize=(11, 0.9 + 0.28 * max(len(charger_ids), 1)))
    row = {c: i for i, c in enumerate(charger_ids)}
    stays = [s for s in _stays(events) if s[0] in row]
    e_max = max([s[3] for s in stays if s[3] is not None] + [1.0])
    cmap = plt.get_cmap("viridis")
    t0_day = mdates.date2num(start)
    t_end_s = (end - start).total_seconds()
    for closed in (True, False):
        part = [s for s in stays if (s[2] is not None) == closed]
        if not part:
            continue
        y = [row[s[0]] for s in part]
        left = [t0_day + s[1] / 86400.0 for s in part]
        width = [((s[2] if closed else t_end_s) - s[1]) / 86400.0 for s in part]
        color = [cmap(s[3] / e_max) for s in part] if closed else "#cccccc"
        ax.barh(y, width, left=left, height=0.7, color=color,
                **({} if closed else {"hatch": "//", "edgecolor": "#888888"}))
    unmet = [s for s in stays if s[4]]
    if unmet:
        ax.plot([t0_day + s[2] / 86400.0 for s in unmet], [row[s[0]] for s in unmet], "x",
                color="r", ms=6)
    ax.xaxis_date()
    ax.set_yticks(range(len(charger_ids)), charger_ids, fontsize=7)
    ax.set_xlim(start, end)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, e_max))
    fig.colorbar(sm, ax=ax, label="delivered [kWh]", pad=0.01)
    return _finish(fig, ax, "charger",
                   "EV charging sessions (hatched: still plugged at the end; x: unmet energy)",
                   right_in=0.3, left_in=1.4)


def ev_daily_energy(charger_p_kw: pd.DataFrame, step_h: float) -> Figure:
    """Long runs: energy through each charger per day, as a heat map (charger x day)."""
    daily = (charger_p_kw.clip(lower=0.0) * step_h).resample("1D").sum()
    fig, ax = plt.subplots(figsize=(11, 0.9 + 0.28 * max(daily.shape[1], 1)))
    x = mdates.date2num(daily.index.to_pydatetime())
    extent = (x[0], x[-1] + 1, -0.5, daily.shape[1] - 0.5)
    img = ax.imshow(daily.T.to_numpy(), aspect="auto", origin="lower", extent=extent,
                    cmap="viridis", interpolation="nearest")
    ax.xaxis_date()
    ax.set_yticks(range(daily.shape[1]), list(daily.columns.str.split(".").str[0]), fontsize=7)
    fig.colorbar(img, ax=ax, label="charged per day [kWh]", pad=0.01)
    return _finish(fig, ax, "charger", "EV charging per charger and day", right_in=0.3,
                   left_in=1.4)


def voltage(vm: pd.DataFrame, vm_min: float, vm_max: float) -> Figure:
    fig, ax = plt.subplots(figsize=(11, 3.6))
    lo, hi = vm.min(axis=1), vm.max(axis=1)
    label = "all LV buses: min-max"
    if _long(vm.index):
        lo, hi = lo.resample("1D").min(), hi.resample("1D").max()
        label = "all LV buses: daily min-max"
    ax.fill_between(lo.index, lo, hi, color="#1f77b4", alpha=0.35, lw=0, label=label)
    ax.plot(lo.index, lo, color="#1f77b4", lw=0.8)
    ax.plot(hi.index, hi, color="#1f77b4", lw=0.8)
    for y in (vm_min, vm_max):
        ax.axhline(y, color="r", ls="--", lw=0.8)
    ax.legend(loc="lower left", fontsize=8)
    return _finish(fig, ax, "voltage [pu]", f"Feeder voltage envelope (limits {vm_min}-{vm_max} pu)")


def loading(trafo: pd.Series, line_max: pd.Series, limit: float) -> Figure:
    fig, ax = plt.subplots(figsize=(11, 3.6))
    _envelope(ax, trafo, "#ff7f0e", "transformer")
    _envelope(ax, line_max, "#17becf", "most loaded line")
    ax.axhline(limit, color="r", ls="--", lw=0.8, label="limit")
    ax.legend(loc="upper left", fontsize=8)
    return _finish(fig, ax, "loading [%]", "Transformer and line loading")
