"""PNG charts as bytes for asset metadata (matplotlib, Agg canvas; no pyplot global state).

Every function builds its own ``Figure`` and renders it with the Agg canvas, so it is thread-safe
and never changes the process-wide matplotlib backend. ``png_markdown`` embeds the bytes in a
markdown image (Dagster ``MetadataValue.md``).
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FIGSIZE = (8.0, 4.5)
DPI = 100


def _as_frame(data: pd.Series | pd.DataFrame) -> pd.DataFrame:
    if isinstance(data, pd.Series):
        return data.to_frame(data.name if data.name is not None else "value")
    return data


def new_figure(**kwargs) -> Figure:
    """A matplotlib ``Figure``; matplotlib is imported on first use, not when the code location loads
    (it is ~0.4 s of a ~2.7 s import, paid by every run worker of the UI)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def render_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` through the Agg canvas (no pyplot, no process-wide backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _finish(ax, title: str, ylabel: str | None, n_series: int) -> None:
    ax.set_title(title)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if n_series > 1:
        ax.legend(loc="best", fontsize="small")


def line_plot_png(data: pd.Series | pd.DataFrame, title: str, ylabel: str | None = None,
                  log_y: bool = False) -> bytes:
    """One line per column of ``data`` against its index."""
    frame = _as_frame(data)
    fig = new_figure(figsize=FIGSIZE)
    ax = fig.add_subplot(1, 1, 1)
    for col in frame.columns:
        ax.plot(frame.index, frame[col].to_numpy(dtype=float), label=str(col), linewidth=1.2)
    if log_y:
        ax.set_yscale("log")
    _finish(ax, title, ylabel, frame.shape[1])
    fig.autofmt_xdate()
    return render_png(fig)


def bar_plot_png(data: pd.Series | pd.DataFrame, title: str, ylabel: str | None = None) -> bytes:
    """Grouped bars: one group per index label, one bar per column."""
    frame = _as_frame(data)
    fig = new_figure(figsize=FIGSIZE)
    ax = fig.add_subplot(1, 1, 1)
    n = frame.shape[1]
    pos = np.arange(len(frame))
    width = 0.8 / max(n, 1)
    for i, col in enumerate(frame.columns):
        ax.bar(pos + (i - (n - 1) / 2) * width, frame[col].to_numpy(dtype=float), width, label=str(col))
    ax.set_xticks(pos, [str(v) for v in frame.index], rotation=45 if len(frame) > 8 else 0)
    ax.axhline(0.0, color="black", linewidth=0.8)
    _finish(ax, title, ylabel, n)
    return render_png(fig)


def equity_curve_png(returns: pd.Series | pd.DataFrame, title: str = "Equity curve",
                     log_y: bool = False) -> bytes:
    """Growth of 1 (prod (1 + r), NaN returns counted as 0) per column, with the drawdown below."""
    frame = _as_frame(returns).astype(float)
    equity = (1.0 + frame.fillna(0.0)).cumprod()
    drawdown = equity / equity.cummax().clip(lower=1.0) - 1.0  # peak includes the starting 1
    fig = new_figure(figsize=(FIGSIZE[0], FIGSIZE[1] * 1.3))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for col in equity.columns:
        top.plot(equity.index, equity[col].to_numpy(), label=str(col), linewidth=1.2)
        bottom.plot(drawdown.index, 100 * drawdown[col].to_numpy(), linewidth=1.0)
    if log_y:
        top.set_yscale("log")
    _finish(top, title, "growth of 1", equity.shape[1])
    bottom.set_ylabel("drawdown (%)")
    bottom.grid(True, alpha=0.3)
    fig.autofmt_xdate()
    return render_png(fig)


def png_markdown(png: bytes, alt: str = "chart") -> str:
    """A markdown image embedding ``png`` as a base64 data URI."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
