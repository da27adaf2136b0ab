"""Monthly sorts of coins on their ex-ante neural beta into quantile groups (quartiles by default).

At the start of month ``t`` (end of ``t-1``) coins are ranked on ``beta_t`` (an ex-ante beta, computed
from data up to ``t-1``) and the group's equal-weighted mean beta and mean excess return **in month t**
(the next month relative to the information set) are reported.

Few coins: groups are assigned by rank, ``group = floor(rank * Q / n)`` (ranks 0..n-1, ties broken by
column order, i.e. a stable sort), so with ``n >= Q`` every group is non-empty and sizes differ by at
most one; with ``n < Q`` some groups are empty (NaN rows, ``n_coins = 0``); months with fewer than
``min_coins`` coins having both a beta and a return are skipped entirely.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def assign_groups(values: np.ndarray, n_groups: int = 4) -> np.ndarray:
    """Group index 0..Q-1 (0 = lowest) per finite value by rank; -1 for NaN. Vectorised over rows.

    ``values (T, N)`` -> ``(T, N)`` int.
    """
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    n = finite.sum(axis=1, keepdims=True)
    # Stable argsort with NaN pushed to the end, then rank = position in the sorted order.
    order = np.argsort(np.where(finite, v, np.inf), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(v.shape[1])[None, :].repeat(v.shape[0], 0), axis=1)
    groups = (rank * n_groups) // np.maximum(n, 1)
    return np.where(finite, groups, -1)


def beta_sorted_portfolios(
    betas: pd.DataFrame, excess_returns: pd.DataFrame, n_groups: int = 4, min_coins: int = 4,
) -> pd.DataFrame:
    """Rows ``month, group (1..Q), n_coins, mean_beta, mean_excess_return``.

    ``betas``: month x coin ex-ante betas for month t; ``excess_returns``: month x coin returns of
    month t in excess of the risk-free rate (same labels; no shift is applied here).
    """
    cols = betas.columns.intersection(excess_returns.columns)
    months = betas.index.intersection(excess_returns.index)
    b = betas.loc[months, cols].to_numpy(float)
    r = excess_returns.loc[months, cols].to_numpy(float)
    b = np.where(np.isfinite(r), b, np.nan)  # a coin needs both to be sorted
    g = assign_groups(b, n_groups)
    enough = np.isfinite(b).sum(axis=1) >= min_coins
    rows = []
    for q in range(n_groups):  # loop over the (few) groups only; months and coins vectorised
        mask = (g == q) & enough[:, None]
        cnt = mask.sum(axis=1)
        with np.errstate(invalid="ignore"):
            mb = np.where(mask, b, 0.0).sum(axis=1) / cnt
            mr = np.where(mask, r, 0.0).sum(axis=1) / cnt
        rows.append(pd.DataFrame({"month": months, "group": q + 1, "n_coins": cnt,
                                  "mean_beta": np.where(cnt > 0, mb, np.nan),
                                  "mean_excess_return": np.where(cnt > 0, mr, np.nan)})[enough])
    out = pd.concat(rows).sort_values(["month", "group"]).reset_index(drop=True)
    return out


def portfolio_summary(sorted_rows: pd.DataFrame) -> pd.DataFrame:
    """Per group: months, time-series mean of mean_beta and mean_excess_return; plus ``"H-L"``."""
    g = sorted_rows.dropna(subset=["mean_excess_return"]).groupby("group")
    out = pd.DataFrame({"months": g.size(), "mean_beta": g["mean_beta"].mean(),
                        "mean_excess_return": g["mean_excess_return"].mean()})
    wide = sorted_rows.pivot(index="month", columns="group", values="mean_excess_return")
    if len(wide.columns):
        hl = (wide[wide.columns.max()] - wide[wide.columns.min()]).dropna()
        out.loc["H-L"] = [len(hl), np.nan, hl.mean()]
    return out
