"""What every HTML report shares: a figure as PNG bytes and a value as table-cell text."""

from __future__ import annotations

import html
import io

import matplotlib.pyplot as plt
from matplotlib.figure import Figure


def fixed_margins(fig: Figure, left_in: float = 0.85, right_in: float = 0.2,
                  bottom_in: float = 0.55, top_in: float = 0.35, **space) -> Figure:
    """Place the axes with fixed margins around them [inch] instead of
    ``tight_layout`` (which draws the whole figure once more to measure its texts).
    ``space``: ``wspace``/``hspace`` between subplots, as fractions of an axes."""
    w_in, h_in = fig.get_size_inches()
    fig.subplots_adjust(left=left_in / w_in, right=1 - right_in / w_in,
                        bottom=bottom_in / h_in, top=1 - top_in / h_in, **space)
    return fig


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
