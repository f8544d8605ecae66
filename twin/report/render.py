"""What every HTML report shares: a figure as PNG bytes and a value as table-cell text."""

from __future__ import annotations

import html
import io

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def png_bytes(fig: Figure) -> bytes:
    """The figure as a PNG (110 dpi); the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def cell_text(value) -> str:
    """A KPI value for a table cell: floats to 4 significant digits (thousands
    separated, no decimals from 1e4 up), anything else as escaped text."""
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return html.escape(str(value))
