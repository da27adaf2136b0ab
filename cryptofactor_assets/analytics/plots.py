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


#: Colours of the PNG palette. Charts are a few line / bar colours plus their anti-aliased edges: a
#: 256-colour palette PNG looks the same and is ~3x smaller than matplotlib's RGBA output (89 -> 28 KB
#: for a 6-line chart). The bytes travel in Dagster metadata events (stored twice in the SQLite event
#: log, sent to every browser that opens the asset), so the size is the instance's and the UI's.
PALETTE_COLOURS = 256


def render_png(fig: Figure) -> bytes:
    """PNG bytes of ``fig`` through the Agg canvas (no pyplot, no process-wide backend), as an 8-bit
    palette image (``PALETTE_COLOURS``, median-cut quantisation, Pillow's optimised PNG encoder)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image  # matplotlib's own dependency

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out.getvalue()


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


def panels_png(fig: Figure, axes, n_used: int, title: str, handles: dict, ncol: int, fontsize, legend_size: str
               ) -> bytes:
    """Close a grid of panels: hide the unused axes, title the figure, one legend for all panels (the
    first handle of each label) below them, and render it as a palette PNG."""
    for ax in axes[n_used:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=fontsize)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=ncol, fontsize=legend_size)
    return render_png(fig)


def png_markdown(png: bytes, alt: str = "chart") -> str:
    """A markdown image embedding ``png`` as a base64 data URI."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def interval_plot_png(intervals: pd.DataFrame, title: str) -> bytes:
    """Horizontal interval chart of ``reporting.stats.premia_intervals`` output: one panel per spec, NW (and
    Shanken) 95 % intervals around each mean, zero line (Agg canvas, no pyplot state)."""
    specs = list(dict.fromkeys(intervals["spec"]))
    heights = [max(1.2, 0.45 * (intervals["spec"] == s).sum() + 0.8) for s in specs]
    fig = new_figure(figsize=(FIGSIZE[0], sum(heights)), layout="constrained")  # no title overlaps
    axes = fig.subplots(len(specs), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, spec in zip(axes, specs, strict=True):
        part = intervals[intervals["spec"] == spec].reset_index(drop=True)
        has_shanken = "shanken_low_pct" in part and bool(part["shanken_low_pct"].notna().any())
        y = np.arange(len(part))[::-1].astype(float)
        mean = part["mean_pct"].to_numpy(dtype=float)
        lo, hi = part["ci_low_pct"].to_numpy(dtype=float), part["ci_high_pct"].to_numpy(dtype=float)
        ax.errorbar(mean, y + (0.12 if has_shanken else 0.0), xerr=[mean - lo, hi - mean], fmt="o",
                    capsize=3, label="95 % CI (Newey-West)")
        if has_shanken:
            slo = part["shanken_low_pct"].to_numpy(dtype=float)
            shi = part["shanken_high_pct"].to_numpy(dtype=float)
            ax.errorbar(mean, y - 0.12, xerr=[mean - slo, shi - mean], fmt="s", capsize=3,
                        label="95 % CI (Shanken)")
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(y, [str(c) for c in part["coefficient"]])
        ax.set_ylim(-0.6, len(part) - 0.4)
        ax.set_title(f"{title}: {spec}" if spec else title, fontsize="medium")
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("premium (% per week)")
    return render_png(fig)
