"""Realised signed jumps from 5-minute bars: a direct numpy implementation (the test oracle).

Per coin-day (UTC), from the 5-minute log returns r_i = ln(C_i / C_{i-1}) between consecutive bars of
the same coin that are exactly 5 minutes apart (no return across a gap or a coin). The return of a
day's first bar (open 00:00) from the previous day's last close (open 23:55) is the day's *midnight
return*: it belongs to the day of the bar that ends it, so a complete day has 288 returns. It is
included by default (``include_midnight``); excluded, a day has at most 287 (the stored
``raw_klines_5m.log_ret``, which never crosses midnight).

* RV   = sum r_i^2                                   realised variance
* RS+  = sum r_i^2 1{r_i > 0},  RS- = sum r_i^2 1{r_i < 0}   semivariances (Barndorff-Nielsen,
  Kinnebrock & Shephard 2010)
* SJ   = RS+ - RS-,  RSJ = SJ / RV in [-1, 1]         signed jump and relative signed jump (Bollerslev,
  Li & Zhao 2020, JFQA; Zhang & Zhao 2023, IRFA 89, 102712)
* RSkew = sqrt(N) sum r_i^3 / RV^(3/2),  RKurt = N sum r_i^4 / RV^2 with N the number of returns
  (Amaya, Christoffersen, Jacobs & Vasquez 2015, JFE 118, eqs. (2)-(3)).

A coin-day gets no RSJ / RSkew / RKurt (undefined, not 0), with the first reason that applies:
``too_few_bars`` (fewer than ``min_share * 288`` bars), ``zero_rv`` (RV = 0: the price never moved),
``stale`` (more than ``max_zero_share`` of its returns exactly zero: n_zero > max_zero_share x N; a
stale or tick-quantised price whose few non-zero moves are whole ticks, so RSJ measures the sign of
tick moves, not jumps). The production path is ``sql/rsj/insert_rsj_daily.sql`` (a GROUP BY over the
stored ``log_ret`` plus the midnight returns); this module recomputes everything from raw closes so
the two can be checked against each other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BARS_PER_DAY = 288
BAR_NS = 5 * 60 * 1_000_000_000
DAY_NS = 86_400 * 1_000_000_000
DEFAULT_MIN_SHARE = 0.8
#: A coin-day with more than this share of exactly-zero 5-minute returns is ``stale`` (no RSJ). On the
#: real files (README, RSJ section) liquid coins stay below 0.25; the days above 0.5 are PEPE's at a
#: ~1 % tick, where |RSJ| collapses to ~0.03 (0.13-0.14 on days with < 20 % zeros). 1 disables it.
DEFAULT_MAX_ZERO_SHARE = 0.5
#: The midnight return (a day's first bar from the previous day's last close) is counted by default.
DEFAULT_INCLUDE_MIDNIGHT = True

#: Column order of the ``rsj_daily`` table (``sql/rsj/create_rsj_daily.sql``).
RSJ_COLUMNS = [
    "symbol", "date", "n_bars", "n_returns", "rv", "rs_pos", "rs_neg", "sj", "rsj", "rskew", "rkurt",
    "min_share", "reason", "n_zero", "max_zero_share", "include_midnight",
]
#: The reasons a coin-day has no RSJ, in the order they are tested.
REASONS = ("too_few_bars", "zero_rv", "stale")


def _sorted_bars(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(symbol codes, open_time in ns since epoch (naive UTC), close), sorted by symbol then time."""
    times = pd.to_datetime(frame["open_time"])
    if getattr(times.dt, "tz", None) is not None:
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = times.to_numpy().astype("datetime64[ns]").astype(np.int64)
    # Sort on integer codes of the (sorted) symbol categories: much faster than on strings.
    cat = pd.Categorical(frame["symbol"].astype(str))
    codes = cat.codes.astype(np.int64)
    order = np.lexsort((ns, codes))
    codes, ns = codes[order], ns[order]
    close = frame["close"].to_numpy(dtype=np.float64)[order]
    symbols = np.asarray(cat.categories, dtype=object)[codes]
    dup = (codes[1:] == codes[:-1]) & (ns[1:] == ns[:-1])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise ValueError(f"duplicate bar {symbols[i]} {pd.Timestamp(ns[i])}")
    return symbols, ns, close


def log_returns_5m(frame: pd.DataFrame, across_midnight: bool = False) -> pd.DataFrame:
    """Bars (symbol, open_time, close) sorted by symbol and time with the column ``log_ret``.

    ``log_ret = ln(close / previous close)`` when the previous bar is of the same symbol and exactly 5
    minutes earlier, else NaN. With ``across_midnight`` False the previous bar must also be on the same
    UTC day (the definition of ``raw_klines_5m.log_ret``); True keeps the midnight returns (a day's
    00:00 bar from the previous day's 23:55 close), as ``rsj_daily`` counts them by default.
    """
    symbols, ns, close = _sorted_bars(frame)
    r = np.full(len(close), np.nan)
    if len(close) > 1:
        ok = (symbols[1:] == symbols[:-1]) & (ns[1:] - ns[:-1] == BAR_NS)
        if not across_midnight:
            ok &= ns[1:] // DAY_NS == ns[:-1] // DAY_NS
        # ln(C_i / C_{i-1}) exactly as the SQL writes it (not ln C_i - ln C_{i-1}), so both round alike.
        r[1:][ok] = np.log(close[1:][ok] / close[:-1][ok])
    return pd.DataFrame(
        {"symbol": symbols, "open_time": ns.astype("datetime64[ns]"), "close": close, "log_ret": r}
    )


def rsj_from_bars(
    frame: pd.DataFrame,
    min_share: float = DEFAULT_MIN_SHARE,
    bars_per_day: int = BARS_PER_DAY,
    include_midnight: bool = DEFAULT_INCLUDE_MIDNIGHT,
    max_zero_share: float = DEFAULT_MAX_ZERO_SHARE,
) -> pd.DataFrame:
    """RV, RS+, RS-, SJ, RSJ, RSkew, RKurt per (symbol, UTC day) from raw 5-minute closes.

    ``frame`` has columns ``symbol``, ``open_time`` (naive UTC or tz-aware) and ``close``, one row per
    bar (duplicates raise). Returns one row per coin-day that has at least one bar, columns
    ``RSJ_COLUMNS`` (``date`` as datetime64 midnight), sorted by symbol and date. Formulas in the
    module docstring; every sum is computed directly (RS+ and RS- with indicator masks) so this is an
    independent check of the SQL, which derives RS+/RS- from RV and SJ. ``include_midnight``: count
    each day's midnight return; ``max_zero_share``: the ``stale`` threshold (both stored on the rows).
    """
    bars = log_returns_5m(frame, across_midnight=include_midnight)
    if bars.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RSJ_COLUMNS})
    symbols = bars["symbol"].to_numpy()
    ns = bars["open_time"].to_numpy().astype(np.int64)
    day = ns // DAY_NS
    r = bars["log_ret"].to_numpy()
    valid = ~np.isnan(r)
    r0 = np.where(valid, r, 0.0)
    r2 = r0 * r0

    # Rows are sorted by (symbol, time), so each coin-day is a contiguous block: reduceat sums blocks.
    new_group = np.ones(len(r), dtype=bool)
    new_group[1:] = (symbols[1:] != symbols[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new_group)

    def block_sum(x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x, starts)

    n_bars = np.diff(np.append(starts, len(r)))
    n_returns = block_sum(valid.astype(np.int64))
    n_zero = block_sum((valid & (r0 == 0.0)).astype(np.int64))
    rv = block_sum(r2)
    rs_pos = block_sum(np.where(r0 > 0, r2, 0.0))
    rs_neg = block_sum(np.where(r0 < 0, r2, 0.0))
    s3 = block_sum(r0**3)
    s4 = block_sum(r0**4)
    sj = rs_pos - rs_neg

    reason = np.full(len(starts), None, dtype=object)
    too_few = n_bars < min_share * bars_per_day
    zero_rv = ~too_few & (rv == 0)
    # n_zero > share x N (no division: the SQL compares the same product)
    stale = ~too_few & ~zero_rv & (n_zero > max_zero_share * n_returns)
    reason[too_few] = "too_few_bars"
    reason[zero_rv] = "zero_rv"
    reason[stale] = "stale"
    ok = ~(too_few | zero_rv | stale)
    rv_ok = np.where(ok, rv, 1.0)  # placeholder denominator where the statistic is undefined anyway
    rsj = np.where(ok, sj / rv_ok, np.nan)
    rskew = np.where(ok, np.sqrt(n_returns) * s3 / rv_ok**1.5, np.nan)
    rkurt = np.where(ok, n_returns * s4 / rv_ok**2, np.nan)

    return pd.DataFrame(
        {
            "symbol": symbols[starts],
            "date": (day[starts] * DAY_NS).astype("datetime64[ns]"),
            "n_bars": n_bars,
            "n_returns": n_returns,
            "rv": rv,
            "rs_pos": rs_pos,
            "rs_neg": rs_neg,
            "sj": sj,
            "rsj": rsj,
            "rskew": rskew,
            "rkurt": rkurt,
            "min_share": float(min_share),
            "reason": reason,
            "n_zero": n_zero,
            "max_zero_share": float(max_zero_share),
            "include_midnight": bool(include_midnight),
        }
    )
