"""Signals of the chapter's FUND, VOL and CHAIN factors, each known at the close of its formation day.

Every signal is a (days x coins) frame on the COMPLETE calendar of the days it is asked for: the value
of day d uses rows dated d or earlier only (a formation day's close), never a later one. A missing
input day is never bridged: a window short of its minimum count gives NaN, and a coin without the
signal is left out of that factor's legs only (``construction.factor_returns``).

* **VOL** (:func:`volatility_signal`): the sample standard deviation (ddof 1) of the coin's daily
  simple returns over the ``lookback`` calendar days ending on d, with at least ``min_obs`` returns.
  Daily factor: 30 days, >= 20 returns; weekly factor: the 28 days of weeks t-3..t (the
  ``rvol_4w`` of the feature matrix), >= 20 returns. Long LOW volatility, short HIGH.
* **FUND** (:func:`funding_signal`): the sum of the coin's perpetual funding settlements over the
  ``lookback`` = 7 UTC days ending on d (settlements at 00:00 .. 16:00 of d are before its close),
  i.e. what a long position of unit notional paid over the week: comparable across funding intervals
  (a 1-hour contract settles eight times as often at an eighth of the rate). NaN unless the coin has
  a settlement on every one of the 7 days (a partial week would understate the carry). Long LOW
  funding, short HIGH: the carry direction (crowded longs pay; a short perpetual collects it).
  Weekly factor: the 7 days of the formation week.
* **CHAIN** (:func:`chain_signal`): on-chain activity growth, log(mean of the measure over the
  ``short`` = 7 days ending on d) - log(mean over the ``long`` = 28 days before them), the measure
  being active addresses (or transaction counts); NaN unless at least ``min_short`` = 5 of the 7 and
  ``min_long`` = 20 of the 28 days have a positive value (publication gaps are tolerated, not
  filled). Long HIGH growth, short LOW. Weekly factor: the value on the formation week's Sunday.

Vectorised: one pivot to the complete calendar and rolling / cumulative sums over all coins at once;
no loop over days or coins.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators import panels

#: Daily VOL: sd of the daily returns of the last 30 days (the chapter's window), >= 20 returns.
VOL_LOOKBACK_DAYS = 30
VOL_MIN_OBS = 20
#: Weekly VOL: the daily returns of the 4 weeks t-3..t (28 days), >= 20 returns.
WEEKLY_VOL_LOOKBACK_DAYS = 28
#: FUND: the funding paid over the last 7 days.
FUND_LOOKBACK_DAYS = 7
#: CHAIN: log(mean activity of the last 7 days / mean of the 28 days before), >= 5 and >= 20 days present.
CHAIN_SHORT_DAYS = 7
CHAIN_LONG_DAYS = 28
CHAIN_MIN_SHORT = 5
CHAIN_MIN_LONG = 20
CHAIN_MEASURES = ("active_addresses", "tx_count")

#: The three factors: name -> (signal column, the leg that is held long).
SIGNAL_FACTORS: dict[str, tuple[str, str]] = {
    "vol": ("vol_signal", "low"),
    "fund": ("fund_signal", "low"),
    "chain": ("chain_signal", "high"),
}


def _days(days) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(days)).astype("datetime64[ns]")


def _window_sums(wide: pd.DataFrame, length: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sum of the finite values, their count) over the ``length`` rows ending on each row."""
    ok = wide.notna()
    s = wide.where(ok, 0.0).rolling(length, min_periods=1).sum()
    n = ok.astype(float).rolling(length, min_periods=1).sum()
    return s, n


def volatility_signal(daily: pd.DataFrame, days, lookback: int = VOL_LOOKBACK_DAYS,
                      min_obs: int = VOL_MIN_OBS, ret_col: str = "ret") -> pd.DataFrame:
    """sd (ddof 1) of the daily ``ret_col`` of the ``lookback`` calendar days ending on each of ``days``
    (>= ``min_obs`` returns; see the module docstring). ``daily``: symbol, date, ``ret_col``, holding the
    ``lookback - 1`` days before the first of ``days``."""
    if lookback < 2 or not 2 <= min_obs <= lookback:
        raise ValueError("volatility_signal needs lookback >= 2 and 2 <= min_obs <= lookback")
    days = _days(days)
    if daily.empty or not len(days):
        return pd.DataFrame(index=days, dtype=float)
    lo = min(days.min() - pd.Timedelta(days=lookback - 1), pd.Timestamp(daily["date"].min()))
    grid = panels.day_range(lo, days.max() + pd.Timedelta(days=1))
    r = panels.pivot_panel(daily, ret_col, index=grid)
    s1, n = _window_sums(r, lookback)
    s2, _ = _window_sums(r * r, lookback)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / n) / (n - 1)
    # the moments' difference can leave a tiny negative for a constant series: clip at 0
    sd = np.sqrt(var.clip(lower=0.0)).where(n >= min_obs)
    return sd.reindex(days)


def daily_funding(settlements: pd.DataFrame) -> pd.DataFrame:
    """Per (symbol, UTC date): ``funding`` (sum of the day's settlement rates) and ``n_settlements``,
    from raw settlements (symbol, funding_time, funding_rate); what ``select_funding_daily_window.sql``
    returns from ``raw_funding_rates``."""
    if settlements.empty:
        return pd.DataFrame({"symbol": pd.Series(dtype=object), "date": pd.Series(dtype="datetime64[ns]"),
                             "funding": pd.Series(dtype=float), "n_settlements": pd.Series(dtype="int64")})
    f = settlements.assign(date=pd.to_datetime(settlements["funding_time"]).dt.floor("D").astype("datetime64[ns]"))
    out = f.groupby(["symbol", "date"], sort=True)["funding_rate"].agg(["sum", "count"]).reset_index()
    return out.rename(columns={"sum": "funding", "count": "n_settlements"})


def funding_signal(funding: pd.DataFrame, days, lookback: int = FUND_LOOKBACK_DAYS) -> pd.DataFrame:
    """Sum of the funding settled over the ``lookback`` UTC days ending on each of ``days``; NaN unless
    every one of them has a settlement. ``funding``: per coin-day sums (symbol, date, funding,
    n_settlements; :func:`daily_funding`)."""
    if lookback < 1:
        raise ValueError("funding_signal needs lookback >= 1")
    days = _days(days)
    if funding.empty or not len(days):
        return pd.DataFrame(index=days, dtype=float)
    f = funding.loc[funding["n_settlements"] > 0]
    grid = panels.day_range(days.min() - pd.Timedelta(days=lookback - 1), days.max() + pd.Timedelta(days=1))
    wide = panels.pivot_panel(f, "funding", index=grid)
    s, n = _window_sums(wide, lookback)
    return s.where(n >= lookback).reindex(days)


def chain_signal(onchain: pd.DataFrame, days, short: int = CHAIN_SHORT_DAYS, long: int = CHAIN_LONG_DAYS,
                 measure: str = "active_addresses", min_short: int = CHAIN_MIN_SHORT,
                 min_long: int = CHAIN_MIN_LONG) -> pd.DataFrame:
    """log(mean ``measure`` over the ``short`` days ending on each of ``days``) - log(mean over the
    ``long`` days before them), with at least ``min_short`` / ``min_long`` positive values in each.
    ``onchain``: symbol, date, ``measure`` (``raw_onchain_activity`` rows)."""
    if measure not in CHAIN_MEASURES:
        raise ValueError(f"chain measure must be one of {CHAIN_MEASURES}, got {measure!r}")
    if not (1 <= min_short <= short and 1 <= min_long <= long):
        raise ValueError("chain_signal needs 1 <= min_short <= short and 1 <= min_long <= long")
    days = _days(days)
    if onchain.empty or not len(days):
        return pd.DataFrame(index=days, dtype=float)
    grid = panels.day_range(days.min() - pd.Timedelta(days=short + long - 1), days.max() + pd.Timedelta(days=1))
    x = onchain.loc[pd.to_numeric(onchain[measure], errors="coerce") > 0]
    wide = panels.pivot_panel(x, measure, index=grid).astype(float)
    s_short, n_short = _window_sums(wide, short)
    s_all, n_all = _window_sums(wide, short + long)
    s_long, n_long = s_all - s_short, n_all - n_short
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.log(s_short / n_short) - np.log(s_long / n_long)
    return g.where((n_short >= min_short) & (n_long >= min_long)).reindex(days)


def attach_signals(panel: pd.DataFrame, signals: Mapping[str, pd.DataFrame], period_col: str = "date",
                   offset: pd.Timedelta = pd.Timedelta(0)) -> pd.DataFrame:
    """``panel`` with one column per signal, matched on (symbol, ``period_col`` + ``offset``): a daily
    panel takes the value of its own day (offset 0); a weekly panel (``week_start``) the value of the
    week's Sunday (offset 6 days). Coins or days without a value get NaN."""
    out = panel.copy()
    when = pd.to_datetime(out[period_col]).astype("datetime64[ns]") + offset
    for column, wide in signals.items():
        if wide is None or wide.empty or not wide.shape[1]:
            out[column] = np.nan
            continue
        long = wide.stack(future_stack=True).dropna()
        index = pd.MultiIndex.from_arrays([when, out["symbol"].astype(str)])
        long.index = pd.MultiIndex.from_arrays([long.index.get_level_values(0).astype("datetime64[ns]"),
                                                long.index.get_level_values(1).astype(str)])
        out[column] = long.reindex(index).to_numpy(dtype=float)
    return out
