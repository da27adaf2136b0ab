"""Plain-data helpers of the factor assets' metadata (no Dagster): window summaries of return
series, counts of eligible coins, the text explaining an empty result, the lag-rule parser."""

from __future__ import annotations

import numpy as np
import pandas as pd


def parse_lag_rule(value: str):
    """'4t100' / 't14' / 'nw1994', or an integer given as text."""
    return int(value) if value.strip().isdigit() else value.strip()


def window_summary(frame: pd.DataFrame, columns, periods_per_year: float = 52) -> pd.DataFrame:
    """Mean, SD (both in %), plain t and number of periods of each column."""
    rows = []
    for c in [c for c in columns if c in frame.columns]:
        x = frame[c].dropna().to_numpy(dtype=float)
        n = len(x)
        sd = float(x.std(ddof=1)) if n > 1 else np.nan
        rows.append({"series": c, "n": n, "mean_pct": 100 * x.mean() if n else np.nan, "sd_pct": 100 * sd,
                     "t": x.mean() / (sd / np.sqrt(n)) if n > 1 and sd > 0 else np.nan,
                     "ann_mean_pct": 100 * periods_per_year * x.mean() if n else np.nan})
    return pd.DataFrame(rows)


def eligible_count(frame: pd.DataFrame, period_col: str, lo, hi) -> tuple[int, int]:
    """(eligible rows, periods with an eligible row) of ``frame`` with ``lo <= period_col < hi``."""
    if frame.empty:
        return 0, 0
    p = pd.to_datetime(frame[period_col])
    sel = frame.loc[(p >= pd.Timestamp(lo)) & (p < pd.Timestamp(hi)) & frame["in_universe"].fillna(False).astype(bool)]
    return len(sel), int(sel[period_col].nunique())


def formation_lacks(frame: pd.DataFrame, period_col: str, lo, hi, unit: str) -> str:
    """Why a holding window got no rows: the eligible coins of its formation periods [lo, hi)."""
    n, periods = eligible_count(frame, period_col, lo, hi)
    if unit == "week":
        rule = ("eligible: market cap >= $1M and volume on the week's last available day (weekly_panel's "
                "return_rule last_price; complete_week also needs all 7 days of returns, so not the first "
                "stored week)")
    else:
        rule = ("eligible: market cap >= $1M with a return, so not the first stored day")
    return (f"needs eligible coins in the formation {unit} before each holding {unit} ({rule}); the "
            f"formation {unit}s {lo} .. {hi} (exclusive) hold {n} eligible coin-{unit}s in {periods} {unit}s")
