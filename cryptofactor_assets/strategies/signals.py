"""Signals -> target weights: quantile long-shorts, sizing by significance, fractional Kelly.

Every function takes one row per (date, symbol) of what is known at the close of ``date`` and returns
target weights decided at that close (long format: date, symbol, weight; plus diagnostics). Nothing
here looks at a later row: each date's weights depend on that date's rows only (and on parameters
estimated before it, passed in by the caller), which the tests check by perturbing later rows.

* :func:`quantile_long_short`: quantile breakpoints of the signal over the date's usable coins
  (``factors.sorts``: linear interpolation, right-closed bins like ``pandas.qcut``, the same rule as
  ``characteristic_portfolios``), long the top quantile and short the bottom one (``long="high"``) or
  the reverse; equal weights (``ew``: +1/n_long, -1/n_short) or value weights (``vw``: market cap
  within each leg). Gross exposure 2, net 0.
* :func:`significance_weights`: the forecast's t-statistic ``z_i = forecast_i / se_i`` (se: the
  standard error of the fitted conditional mean, ``prediction_forecasts.forecast_se``), demeaned
  across the date's coins (dollar-neutral) and scaled so that ``sum |w| = gross_leverage``:
  ``w_i = L (z_i - mean z) / sum_j |z_j - mean z|``. Coins with a large but noisy forecast get less.
* :func:`kelly_weights`: fractional Kelly on a calibrated probability of an up week. For a bet that
  wins ``b`` per unit staked with probability p and loses 1 otherwise, the growth-optimal stake is
  ``f* = p - (1 - p) / b`` (Kelly 1956; Thorp 2006, eq. 3.2). ``b`` is the payoff ratio estimated on
  the fold's training window only (mean gain of up weeks / mean loss of down weeks), the stake
  ``w_i = min(fraction x max(f*_i, 0), cap)``; long only: **no position when the edge is negative**
  (f* <= 0); when the stakes sum above ``max_gross`` they are scaled down pro rata (the rest is cash).

Pure numpy / pandas, no Dagster.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cryptofactor_assets.factors.sorts import assign_bins, group_breakpoints

WEIGHTINGS = ("ew", "vw")


def _columns(base: list[str], keep: Sequence[str]) -> list[str]:
    return base + [c for c in keep if c not in base]


def _empty(*extra: str) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "symbol": pd.Series(dtype=object),
                         "weight": pd.Series(dtype=float), **{c: pd.Series(dtype=float) for c in extra}})


def quantile_long_short(frame: pd.DataFrame, signal: str, weighting: str = "ew", n_quantiles: int = 5,
                        long: str = "high", cap_column: str = "market_cap",
                        min_coins: int | None = None, keep: Sequence[str] = ()) -> pd.DataFrame:
    """Long-short weights of the top vs bottom ``n_quantiles``-tile of ``signal`` per date.

    ``frame``: date, symbol, ``signal`` and (for ``vw``) ``cap_column``. Usable rows: a finite signal
    (and a positive cap for ``vw``). Dates with fewer than ``min_coins`` usable coins (default
    ``n_quantiles``) or an empty leg get no weights. Returns date, symbol, weight, quantile and the
    ``keep`` columns of ``frame``.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}")
    if long not in {"high", "low"} or n_quantiles < 2:
        raise ValueError("long must be 'high' or 'low' and n_quantiles >= 2")
    min_coins = n_quantiles if min_coins is None else min_coins
    x = frame[_columns(["date", "symbol", signal] + ([cap_column] if weighting == "vw" else []), keep)].copy()
    x["date"] = pd.to_datetime(x["date"])
    ok = np.isfinite(x[signal].to_numpy(dtype=float, na_value=np.nan))
    if weighting == "vw":
        cap = x[cap_column].to_numpy(dtype=float, na_value=np.nan)
        ok &= np.isfinite(cap) & (cap > 0)
    x = x.loc[ok].reset_index(drop=True)
    if x.empty:
        return _empty("quantile", *keep)
    group, dates = pd.factorize(x["date"], sort=True)
    counts = np.bincount(group, minlength=len(dates))
    levels = [k / n_quantiles for k in range(1, n_quantiles)]
    values = x[signal].to_numpy(dtype=float)
    bps, _ = group_breakpoints(values, group, len(dates), np.ones(len(x), dtype=bool), levels)
    bps[counts < min_coins] = np.nan
    q = assign_bins(values, group, bps) + 1  # 1..n, 0 = unsorted
    top, bottom = (n_quantiles, 1) if long == "high" else (1, n_quantiles)
    size = x[cap_column].to_numpy(dtype=float) if weighting == "vw" else np.ones(len(x))
    weight = np.zeros(len(x))
    for leg, sign in ((top, 1.0), (bottom, -1.0)):
        in_leg = q == leg
        total = np.bincount(group[in_leg], weights=size[in_leg], minlength=len(dates))
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(in_leg, sign * size / total[group], weight)
    # a date needs both legs
    has_long = np.bincount(group[q == top], minlength=len(dates)) > 0
    has_short = np.bincount(group[q == bottom], minlength=len(dates)) > 0
    held = (weight != 0) & (has_long & has_short)[group]
    out = x.loc[held, ["date", "symbol", *keep]].assign(weight=weight[held], quantile=q[held].astype(float))
    return out[["date", "symbol", "weight", "quantile", *keep]].reset_index(drop=True)


def significance_weights(frame: pd.DataFrame, forecast: str = "forecast", se: str = "forecast_se",
                         gross_leverage: float = 2.0, min_coins: int = 2, keep: Sequence[str] = ()) -> pd.DataFrame:
    """Dollar-neutral weights proportional to the demeaned forecast t-statistic (module docstring).

    Rows need a finite forecast and a positive, finite se. Returns date, symbol, weight, z (and ``keep``)."""
    if gross_leverage <= 0:
        raise ValueError("gross_leverage must be > 0")
    x = frame[_columns(["date", "symbol", forecast, se], keep)].copy()
    x["date"] = pd.to_datetime(x["date"])
    f = x[forecast].to_numpy(dtype=float, na_value=np.nan)
    s = x[se].to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(f) & np.isfinite(s) & (s > 0)
    x = x.loc[ok].reset_index(drop=True)
    if x.empty:
        return _empty("z", *keep)
    z = f[ok] / s[ok]
    group, dates = pd.factorize(x["date"], sort=True)
    n = np.bincount(group, minlength=len(dates))
    centred = z - (np.bincount(group, weights=z, minlength=len(dates)) / np.maximum(n, 1))[group]
    scale = np.bincount(group, weights=np.abs(centred), minlength=len(dates))
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where((n[group] >= min_coins) & (scale[group] > 0), gross_leverage * centred / scale[group], 0.0)
    held = w != 0
    return x.loc[held, ["date", "symbol", *keep]].assign(weight=w[held], z=z[held])[
        ["date", "symbol", "weight", "z", *keep]].reset_index(drop=True)


def kelly_fraction(p: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full-Kelly stake ``p - (1 - p) / b`` of a bet paying ``b`` per unit with probability p."""
    p = np.asarray(p, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, p - (1.0 - p) / b, np.nan)


def kelly_weights(frame: pd.DataFrame, probability: str = "p_up_calibrated", payoff: str = "payoff_ratio",
                  fraction: float = 0.5, cap: float = 0.1, max_gross: float = 1.0,
                  keep: Sequence[str] = ()) -> pd.DataFrame:
    """Long-only fractional-Kelly stakes (module docstring). Rows need a finite probability in [0, 1]
    and a positive payoff ratio. Returns date, symbol, weight, kelly (the full-Kelly stake; and ``keep``)."""
    if not 0 < fraction <= 1 or cap <= 0 or max_gross <= 0:
        raise ValueError("need 0 < fraction <= 1, cap > 0 and max_gross > 0")
    x = frame[_columns(["date", "symbol", probability, payoff], keep)].copy()
    x["date"] = pd.to_datetime(x["date"])
    p = x[probability].to_numpy(dtype=float, na_value=np.nan)
    b = x[payoff].to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(p) & (p >= 0) & (p <= 1) & np.isfinite(b) & (b > 0)
    x, p, b = x.loc[ok].reset_index(drop=True), p[ok], b[ok]
    if x.empty:
        return _empty("kelly", *keep)
    full = kelly_fraction(p, b)
    stake = np.minimum(fraction * np.maximum(full, 0.0), cap)  # zero when the edge is negative
    group, dates = pd.factorize(x["date"], sort=True)
    total = np.bincount(group, weights=stake, minlength=len(dates))
    stake = np.where(total[group] > max_gross, stake * max_gross / np.where(total > 0, total, 1.0)[group], stake)
    held = stake > 0
    return x.loc[held, ["date", "symbol", *keep]].assign(weight=stake[held], kelly=full[held])[
        ["date", "symbol", "weight", "kelly", *keep]].reset_index(drop=True)


def payoff_ratio(returns: np.ndarray) -> float:
    """``b = mean(r | r > 0) / mean(-r | r < 0)`` of training returns (NaN without gains or losses)."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    gains, losses = r[r > 0], -r[r < 0]
    if not gains.size or not losses.size:
        return float("nan")
    return float(gains.mean() / losses.mean())
