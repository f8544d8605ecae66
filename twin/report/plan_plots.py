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

SHOWN_DAYS = 7


def planned_vs_realised(ts: pd.DataFrame, devices: list[tuple[str, str]]) -> Figure:
    """Per battery its stored energy, per charger its plugged EV's energy [kWh] (left
    axis), and each device's power [kW] (right axis), planned dashed, realised solid.
    ``devices``: (device id, column of its realised stored energy), see kpis.plan_devices."""
    if ts.index[-1] - ts.index[0] > pd.Timedelta(days=SHOWN_DAYS):
        ts = ts[ts.index > ts.index[-1] - pd.Timedelta(days=SHOWN_DAYS)]
    cols = 4
    rows = max(1, math.ceil(len(devices) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(13, 1.9 * rows + 0.8), sharex=True,
                             squeeze=False)
    for ax, (device, energy) in zip(axes.flat, devices, strict=False):
        ax.plot(ts.index, ts[f"{device}.{energy}"].astype(float), color="#2ca02c", lw=1.2)
        ax.plot(ts.index, ts[f"{device}.e_plan_kwh"].astype(float), color="#2ca02c", lw=1.2,
                ls="--")
        ax.tick_params(labelsize=7)
        ax.set_title(device, fontsize=8, loc="left")
        ax.grid(True, alpha=0.3)
        power = ax.twinx()
        power.plot(ts.index, ts[f"{device}.p_kw"].astype(float), color="#1f77b4", lw=0.8)
        power.plot(ts.index, ts[f"{device}.p_plan_kw"].astype(float), color="#1f77b4", lw=0.8,
                   ls="--")
        power.tick_params(labelsize=7, colors="#1f77b4")
        locator = mdates.AutoDateLocator(minticks=2, maxticks=5)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in list(axes.flat)[len(devices):]:
        ax.set_visible(False)
    fig.suptitle("Plan against realisation: stored energy [kWh] (green, left), power [kW] "
                 "(blue, right); dashed = planned, solid = realised", fontsize=10, x=0.01,
                 ha="left")
    fig.tight_layout()
    return fig
