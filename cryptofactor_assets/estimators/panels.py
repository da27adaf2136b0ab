"""Pure panel helpers shared by the domains (no dagster import).

* shaping: :func:`pivot_panel` turns long (date, symbol, value) rows into dense (T, N) arrays on a
  COMPLETE calendar (missing days are NaN rows, so windows never silently shrink), and back with
  :func:`stack_panel`; :func:`day_range` is that calendar;
* :func:`standardise_cross_section`: per-period z-scores of (T, N, K) regressors (the Fama-MacBeth
  cross-sections);
* :func:`long_regression_panel`: (T, N) returns and (T, N, K) regressors in the long (coin, period)
  layout with a constant column that panel estimators such as linearmodels' ``FamaMacBeth`` take.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.ltw_calendar import as_datetime_ns

ONE_DAY = pd.Timedelta(days=1)


def day_range(start: dt.date | pd.Timestamp, end: dt.date | pd.Timestamp) -> pd.DatetimeIndex:
    """Every UTC day in [start, end) as ``datetime64[ns]``."""
    return pd.date_range(pd.Timestamp(start), pd.Timestamp(end) - ONE_DAY, freq="D").astype("datetime64[ns]")


def pivot_panel(frame: pd.DataFrame, value: str, *, index_col: str = "date",
                index: pd.DatetimeIndex | None = None, symbols: Sequence[str] | None = None) -> pd.DataFrame:
    """Dense (T, N) frame of ``value`` with rows ``index`` (default: the sorted dates present) and
    columns ``symbols`` (default: sorted symbols present); absent cells are NaN."""
    if frame.duplicated([index_col, "symbol"]).any():
        raise ValueError(f"duplicate ({index_col}, symbol) rows")
    wide = frame.pivot(index=index_col, columns="symbol", values=value)
    wide.index = pd.DatetimeIndex(as_datetime_ns(wide.index.to_numpy()))
    rows = wide.index.sort_values() if index is None else pd.DatetimeIndex(index)
    cols = sorted(wide.columns) if symbols is None else list(symbols)
    return wide.reindex(index=rows, columns=cols).astype(float)


def stack_panel(arrays: Mapping[str, np.ndarray], index: pd.DatetimeIndex, symbols: Sequence[str],
                *, index_col: str = "date") -> pd.DataFrame:
    """Long frame (index_col, symbol, one column per array) from equally shaped (T, N) arrays."""
    t_len, n = len(index), len(symbols)
    out = pd.DataFrame({
        index_col: np.repeat(index.to_numpy(), n),
        "symbol": np.tile(np.asarray(symbols, dtype=object), t_len),
    })
    for name, arr in arrays.items():
        out[name] = np.asarray(arr).reshape(t_len * n)
    return out


def standardise_cross_section(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per period and regressor, z-score ``x`` (T, N, K) over the coins of ``mask`` (T, N):
    (x - mean) / sd with the sample sd (ddof 1); NaN outside the mask.  A period whose regressor
    has no spread (sd 0 or fewer than 2 coins) gets NaN (the period is then skipped)."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(mask, dtype=bool)[..., None] & np.isfinite(x)
    n = m.sum(axis=1, keepdims=True).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(m, x, 0.0).sum(axis=1, keepdims=True) / n
        dev = np.where(m, x - mean, 0.0)
        sd = np.sqrt((dev**2).sum(axis=1, keepdims=True) / (n - 1))
        z = np.where(m & (sd > 0) & (n > 1), dev / sd, np.nan)
    return z


def long_regression_panel(y: np.ndarray, x: np.ndarray, *, names: tuple[str, str] = ("coin", "period"),
                          y_name: str = "ret") -> tuple[pd.Series, pd.DataFrame]:
    """``y`` (T, N) and ``x`` (T, N, K) as a long Series and a frame (columns ``const``, ``x0``..),
    indexed by (coin, period) = ``names``; missing cells are kept (NaN)."""
    t, n, k = x.shape
    idx = pd.MultiIndex.from_product([range(n), range(t)], names=list(names))
    yy = pd.Series(y.T.ravel(), index=idx, name=y_name)
    xx = pd.DataFrame({"const": 1.0}, index=idx)
    for j in range(k):
        xx[f"x{j}"] = x[:, :, j].T.ravel()
    return yy, xx
