"""Planned against realised power and stored energy, one small panel per device.

Sign convention: positive = charging. The plan is the one in force at each step (what
the strategy sent); the realised values are what the device simulators delivered.
Runs longer than a week show their last seven days, so the steps stay visible.
"""

from __future__ import annotations

import math

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from twin.report.render import fixed_margins

SHOWN_DAYS = 7


def _panel(ax, x, ts: pd.DataFrame, device: str, energy: str) -> None:
    """One device: stored energy on ``ax`` (left), power on a twin axis (right)."""
    ax.plot(x, ts[f"{device}.{energy}"].to_numpy(float), color="#2ca02c", lw=1.2)
    ax.plot(x, ts[f"{device}.e_plan_kwh"].to_numpy(float), color="#2ca02c", lw=1.2, ls="--")
    ax.tick_params(labelsize=7)
    ax.set_title(device, fontsize=8, loc="left", y=1.0, pad=2)  # fixed place: not measured
    ax.grid(True, alpha=0.3)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    power = ax.twinx()
    power.plot(x, ts[f"{device}.p_kw"].to_numpy(float), color="#1f77b4", lw=0.8)
    power.plot(x, ts[f"{device}.p_plan_kw"].to_numpy(float), color="#1f77b4", lw=0.8, ls="--")
    power.tick_params(labelsize=7, colors="#1f77b4")
    power.yaxis.set_major_locator(MaxNLocator(nbins=4))


def planned_vs_realised(ts: pd.DataFrame, devices: list[tuple[str, str]]) -> Figure:
    """Per battery its stored energy, per charger its plugged EV's energy [kWh] (left
    axis), and each device's power [kW] (right axis), planned dashed, realised solid.
    ``devices``: (device id, column of its realised stored energy), see kpis.plan_devices.
    The panels share one time axis and are placed with fixed margins (no tight_layout)."""
    if ts.index[-1] - ts.index[0] > pd.Timedelta(days=SHOWN_DAYS):
        ts = ts[ts.index > ts.index[-1] - pd.Timedelta(days=SHOWN_DAYS)]
    cols = 4
    rows = max(1, math.ceil(len(devices) / cols))
    w_in, h_in = 13, 1.9 * rows + 0.8
    fig, axes = plt.subplots(rows, cols, figsize=(w_in, h_in), sharex=True, squeeze=False)
    for ax, (device, energy) in zip(axes.flat, devices, strict=False):
        _panel(ax, ts.index, ts, device, energy)
    locator = mdates.AutoDateLocator(minticks=2, maxticks=5)  # shared by the shared x axes
    axes[0, 0].xaxis.set_major_locator(locator)
    axes[0, 0].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in list(axes.flat)[len(devices):]:
        ax.set_visible(False)
    fig.suptitle("Plan against realisation: stored energy [kWh] (green, left), power [kW] "
                 "(blue, right); dashed = planned, solid = realised", fontsize=10, x=0.01,
                 ha="left")
    return fixed_margins(fig, left_in=0.45, right_in=0.45, bottom_in=0.45, top_in=0.55,
                         wspace=0.32, hspace=0.35)
