"""Characteristic-sorted quantile portfolios (Liu, Tsyvinski & Wu 2022, JF 77(2), Tables III-IV).

Each formation period t and characteristic:

1. Usable coins: ``eligible`` at t (LTW: price, volume, market cap present, market cap >= $1M,
   complete week), with a non-missing signal and a positive market cap (weight) at t.
2. Breakpoints: the 1/n, ..., (n-1)/n quantiles of the signal (linear interpolation, as
   ``numpy.quantile`` / ``pandas.qcut``) over the *breakpoint universe* of period t only:

   * ``"all"``: every usable coin (LTW's choice);
   * ``"investable"``: usable coins that are investable at t, i.e. among the ``investable_top_n``
     largest by market cap at t (ties at the cut included), or, when ``investable_min_mcap`` is
     given, with market cap >= that threshold (the threshold replaces the top-N rule).  As with
     NYSE breakpoints for US stocks, *every* usable coin is then sorted on these breakpoints, so
     the extreme portfolios can hold many more coins than the middle ones.  This choice flips the
     size effect in replications, hence a parameter stored with each result.

3. Assignment: bins are right-closed like ``pandas.qcut``: quantile q holds
   b_{q-1} < x <= b_q (the lowest bin also takes everything below b_1, the highest everything
   above b_{n-1}).  With ties a breakpoint can coincide with several coins: they all go to the
   lower bin, so some bins may be empty; portfolios with fewer than ``min_coins`` coins with a
   next-period return report NaN returns (their counts are kept).  Periods whose breakpoint
   universe has fewer than ``min_breakpoint_coins`` coins, or whose holding period has no return
   at all in ``next_returns`` (not yet observed), produce no rows.
4. Returns over t+1: equal-weighted mean and value-weighted mean with weights = market cap at t,
   over every coin of the portfolio. A coin without a return at t+1 while the period has returns (it
   stopped trading: delisted, or no price in the whole holding period) earns ``delisting_return``
   (default 0: held out at its last price; -1: a total loss), counted in ``n_delisted``: the other
   coins' weights are never rescaled to fill its place. ``delisting_return=None`` keeps the old rule
   (the coin drops out of the average, weights renormalised over the coins with a return), for
   comparisons. Breakpoints never depend on t+1 data.
5. Long-short = Q_n - Q_1 for both weightings.

Vectorised across periods and characteristics: breakpoints from one grouped quantile call,
assignment by broadcasting comparisons, portfolio sums with ``numpy.bincount``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.ltw_calendar import Calendar, as_datetime_ns, next_period_start

BreakpointUniverse = Literal["all", "investable"]
BREAKPOINT_UNIVERSES: tuple[str, ...] = ("all", "investable")

#: Output columns of :func:`quantile_portfolios`.
PORTFOLIO_COLUMNS: tuple[str, ...] = (
    "period",
    "hold_period",
    "characteristic",
    "portfolio",
    "quantile",
    "ew_ret",
    "vw_ret",
    "n_coins",
    "n_formed",
    "n_quantiles",
    "breakpoint_universe",
    "n_delisted",
    "delisting_return",
)

#: What a formed coin without a return over its holding period earns by default (out at its last price).
DEFAULT_DELISTING_RETURN = 0.0


# --------------------------------------------------------------------------------------------
# Building blocks shared with construction.py
# --------------------------------------------------------------------------------------------
def breakpoint_basis(
    weight: np.ndarray,
    group: np.ndarray,
    universe: str,
    *,
    investable_top_n: int | None = 100,
    investable_min_mcap: float | None = None,
) -> np.ndarray:
    """Boolean mask of rows in the breakpoint universe (rows are already usable coins).

    ``"all"``: every row.  ``"investable"``: weight >= ``investable_min_mcap`` when given, else the
    ``investable_top_n`` largest weights within each ``group`` (rank "min": ties at the cut kept).
    """
    if universe not in BREAKPOINT_UNIVERSES:
        raise ValueError(f"breakpoint_universe must be one of {BREAKPOINT_UNIVERSES}, got {universe!r}")
    weight = np.asarray(weight, dtype=float)
    if universe == "all":
        return np.ones(weight.shape, dtype=bool)
    if investable_min_mcap is not None:
        return weight >= investable_min_mcap
    if investable_top_n is None or investable_top_n < 1:
        raise ValueError("investable universe needs investable_top_n >= 1 or investable_min_mcap")
    rank = pd.Series(weight).groupby(np.asarray(group)).rank(ascending=False, method="min").to_numpy()
    return rank <= investable_top_n


def group_breakpoints(
    values: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    basis: np.ndarray,
    levels: Sequence[float],
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group quantiles of ``values`` over ``basis`` rows (linear interpolation).

    Returns (breakpoints of shape (n_groups, len(levels)), NaN for groups without basis rows;
    basis counts of shape (n_groups,)).  ``group`` holds integer codes 0..n_groups-1.
    """
    values = np.asarray(values, dtype=float)
    sel = np.asarray(basis, dtype=bool) & ~np.isnan(values)
    counts = np.bincount(np.asarray(group)[sel], minlength=n_groups)
    bps = np.full((n_groups, len(levels)), np.nan)
    if sel.any():
        q = pd.Series(values[sel]).groupby(np.asarray(group)[sel]).quantile(list(levels)).unstack()
        bps[q.index.to_numpy()] = q.to_numpy()
    return bps, counts


def assign_bins(values: np.ndarray, group: np.ndarray, breakpoints: np.ndarray) -> np.ndarray:
    """Bin index 0..k (k = number of breakpoints) = number of group breakpoints strictly below x.

    Right-closed bins as ``pandas.qcut``; -1 where the value or the group's breakpoints are NaN.
    """
    values = np.asarray(values, dtype=float)
    b = breakpoints[np.asarray(group)]  # (n_rows, k)
    bins = (values[:, None] > b).sum(axis=1)
    bad = np.isnan(values) | np.isnan(b).any(axis=1)
    return np.where(bad, -1, bins)


def weighted_sums(
    code: np.ndarray, n_codes: int, ret: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(count, equal-weighted mean, value-weighted mean) of ``ret`` per integer ``code``.

    Rows with NaN return are ignored (their weight too); codes < 0 are ignored.  Empty -> NaN.
    """
    code = np.asarray(code)
    ret = np.asarray(ret, dtype=float)
    weight = np.asarray(weight, dtype=float)
    ok = (code >= 0) & ~np.isnan(ret)
    c, r, w = code[ok], ret[ok], weight[ok]
    n = np.bincount(c, minlength=n_codes)
    s = np.bincount(c, weights=r, minlength=n_codes)
    sw = np.bincount(c, weights=w, minlength=n_codes)
    swr = np.bincount(c, weights=w * r, minlength=n_codes)
    with np.errstate(invalid="ignore", divide="ignore"):
        ew = np.where(n > 0, s / np.maximum(n, 1), np.nan)
        vw = np.where(sw > 0, swr / np.where(sw > 0, sw, 1.0), np.nan)
    return n, ew, vw


def attach_next_returns(
    formation: pd.DataFrame,
    next_returns: pd.DataFrame,
    *,
    calendar: Calendar,
    delisting_return: float | None = None,
) -> pd.DataFrame:
    """Add ``hold_period`` (next period on ``calendar`` unless given) and its ``ret`` to ``formation``.

    ``next_returns`` has columns symbol, period, ret (period = the period the return is earned).
    ``delisting_return`` (a float): a coin without a return in a holding period that has returns for
    other coins earns it (column ``_delisted`` marks those rows); None leaves the return missing.
    """
    f = formation.copy()
    if "hold_period" in f.columns:
        f["hold_period"] = as_datetime_ns(f["hold_period"])
    else:
        f["hold_period"] = next_period_start(f["period"].to_numpy(), calendar)
    nr = next_returns[["symbol", "period", "ret"]].copy()
    nr["period"] = as_datetime_ns(nr["period"])
    if nr.duplicated(["symbol", "period"]).any():
        raise ValueError("next_returns has duplicate (symbol, period) rows")
    observed = nr.loc[nr["ret"].notna(), "period"].unique()  # holding periods with returns (built)
    nr = nr.rename(columns={"period": "hold_period", "ret": "_next_ret"})
    out = f.merge(nr, on=["symbol", "hold_period"], how="left", validate="many_to_one")
    out["_delisted"] = False
    if delisting_return is not None:
        if not -1.0 <= delisting_return:
            raise ValueError("delisting_return must be >= -1 (a total loss)")
        gone = out["_next_ret"].isna().to_numpy() & out["hold_period"].isin(observed).to_numpy()
        out.loc[gone, "_next_ret"] = float(delisting_return)
        out["_delisted"] = gone
    return out


# --------------------------------------------------------------------------------------------
# Quantile portfolios
# --------------------------------------------------------------------------------------------
def quantile_portfolios(
    formation: pd.DataFrame,
    next_returns: pd.DataFrame,
    n_quantiles: int = 5,
    breakpoint_universe: BreakpointUniverse = "all",
    *,
    calendar: Calendar = "iso",
    characteristic: str = "signal",
    investable_top_n: int | None = 100,
    investable_min_mcap: float | None = None,
    min_coins: int = 1,
    min_breakpoint_coins: int | None = None,
    delisting_return: float | None = DEFAULT_DELISTING_RETURN,
) -> pd.DataFrame:
    """Quantile portfolio returns held one period, plus the Q_n - Q_1 long-short (module docstring).

    Parameters
    ----------
    formation
        Columns symbol, period (formation period t), signal, weight (market cap at t), eligible;
        optional ``characteristic`` (to sort several signals in one call, long format) and
        ``hold_period`` (otherwise the next period on ``calendar``).
    next_returns
        Columns symbol, period (the holding period t+1), ret.
    n_quantiles
        Number of portfolios (5 = LTW quintiles).
    breakpoint_universe
        "all" or "investable" (see module docstring; ``investable_top_n`` / ``investable_min_mcap``).
    calendar
        "iso", "ltw" or "daily": defines t+1 when ``hold_period`` is absent.
    characteristic
        Name stored in the ``characteristic`` column when ``formation`` has none.
    min_coins
        Portfolios with fewer coins with a t+1 return get NaN returns.
    min_breakpoint_coins
        Minimum breakpoint-universe size for a period to be sorted (default ``n_quantiles``).
    delisting_return
        What a formed coin without a t+1 return earns (module docstring, item 4); None: old rule.

    Returns
    -------
    Long DataFrame with ``PORTFOLIO_COLUMNS``: one row per (characteristic, period, portfolio),
    portfolios "Q1".."Qn" (``quantile`` 1..n) and "Qn-Q1" (``quantile`` NA); ``n_coins`` = coins with
    a t+1 return, the delisted ones at ``delisting_return`` included (for the long-short: long +
    short), ``n_formed`` = coins assigned at t, ``n_delisted`` = coins that earned ``delisting_return``.
    """
    if n_quantiles < 2:
        raise ValueError("n_quantiles must be >= 2")
    if min_breakpoint_coins is None:
        min_breakpoint_coins = n_quantiles
    needed = ["symbol", "period", "signal", "weight", "eligible"]
    missing = [c for c in needed if c not in formation.columns]
    if missing:
        raise ValueError(f"formation lacks columns {missing}")

    f = formation.copy()
    f["period"] = as_datetime_ns(f["period"])
    if "characteristic" not in f.columns:
        f["characteristic"] = characteristic
    w = f["weight"].to_numpy(dtype=float, na_value=np.nan)
    usable = (
        f["eligible"].fillna(False).astype(bool).to_numpy()
        & ~np.isnan(f["signal"].to_numpy(dtype=float, na_value=np.nan))
        & (w > 0)
    )
    f = f.loc[usable].reset_index(drop=True)
    if f.duplicated(["characteristic", "period", "symbol"]).any():
        raise ValueError("formation has duplicate (characteristic, period, symbol) rows")
    f = attach_next_returns(f, next_returns, calendar=calendar, delisting_return=delisting_return)
    if f.empty:
        return _empty_portfolios()

    group = f.groupby(["characteristic", "period"], sort=True).ngroup().to_numpy()
    n_groups = int(group.max()) + 1
    weight = f["weight"].to_numpy(dtype=float)
    signal = f["signal"].to_numpy(dtype=float)
    basis = breakpoint_basis(
        weight,
        group,
        breakpoint_universe,
        investable_top_n=investable_top_n,
        investable_min_mcap=investable_min_mcap,
    )
    levels = [k / n_quantiles for k in range(1, n_quantiles)]
    bps, n_basis = group_breakpoints(signal, group, n_groups, basis, levels)
    bps[n_basis < min_breakpoint_coins] = np.nan  # too few coins: the period is not sorted
    bins = assign_bins(signal, group, bps)

    code = np.where(bins >= 0, group * n_quantiles + bins, -1)
    n_codes = n_groups * n_quantiles
    ret = f["_next_ret"].to_numpy(dtype=float, na_value=np.nan)
    n_coins, ew, vw = weighted_sums(code, n_codes, ret, weight)
    n_formed = np.bincount(code[code >= 0], minlength=n_codes)
    n_delisted = np.bincount(code[(code >= 0) & f["_delisted"].to_numpy()], minlength=n_codes)
    thin = n_coins < min_coins
    ew[thin] = np.nan
    vw[thin] = np.nan

    keys = f.groupby(group, sort=True)[["characteristic", "period", "hold_period"]].first()
    hold_periods = f.groupby(group, sort=True)["hold_period"].nunique()
    if (hold_periods > 1).any():
        raise ValueError("a formation period maps to several hold periods")
    # Groups without any t+1 return (hold period not in ``next_returns`` yet) produce no rows.
    has_returns = np.bincount(group[~np.isnan(ret)], minlength=n_groups) > 0
    sorted_groups = np.flatnonzero((n_basis >= min_breakpoint_coins) & has_returns)
    # Grid (group, quantile) for sorted groups, as flat codes group * n + q.
    gg = np.repeat(sorted_groups, n_quantiles)
    qq = np.tile(np.arange(n_quantiles), sorted_groups.size)
    flat = gg * n_quantiles + qq
    out = pd.DataFrame(
        {
            "period": keys["period"].to_numpy()[gg],
            "hold_period": keys["hold_period"].to_numpy()[gg],
            "characteristic": keys["characteristic"].to_numpy()[gg],
            "portfolio": [f"Q{q + 1}" for q in qq],
            "quantile": pd.array(qq + 1, dtype="Int64"),
            "ew_ret": ew[flat],
            "vw_ret": vw[flat],
            "n_coins": n_coins[flat].astype(np.int64),
            "n_formed": n_formed[flat].astype(np.int64),
            "n_delisted": n_delisted[flat].astype(np.int64),
        }
    )
    ls = long_short_returns(out, long_portfolio=f"Q{n_quantiles}", short_portfolio="Q1")
    out = pd.concat([out, ls], ignore_index=True)
    out["n_quantiles"] = np.int64(n_quantiles)
    out["breakpoint_universe"] = breakpoint_universe
    out["delisting_return"] = np.nan if delisting_return is None else float(delisting_return)
    out = out.sort_values(["characteristic", "period", "quantile"], kind="mergesort", na_position="last")
    return out.reset_index(drop=True)[list(PORTFOLIO_COLUMNS)]


def long_short_returns(
    portfolios: pd.DataFrame,
    *,
    long_portfolio: str = "Q5",
    short_portfolio: str = "Q1",
) -> pd.DataFrame:
    """Long-short rows (long - short) from a long-format portfolio frame (``quantile_portfolios``).

    ``ew_ret`` / ``vw_ret`` are differences (NaN when a leg is NaN); ``n_coins`` / ``n_formed`` are the
    sums over the two legs; ``portfolio`` = "<long>-<short>", ``quantile`` = NA.
    """
    keys = ["characteristic", "period", "hold_period"]
    cols = ["ew_ret", "vw_ret", "n_coins", "n_formed", "n_delisted"]
    long = portfolios.loc[portfolios["portfolio"] == long_portfolio, keys + cols].set_index(keys)
    short = portfolios.loc[portfolios["portfolio"] == short_portfolio, keys + cols].set_index(keys)
    long, short = long.align(short, join="inner")
    ls = pd.DataFrame(index=long.index)
    ls["ew_ret"] = long["ew_ret"] - short["ew_ret"]
    ls["vw_ret"] = long["vw_ret"] - short["vw_ret"]
    ls["n_coins"] = (long["n_coins"] + short["n_coins"]).astype(np.int64)
    ls["n_formed"] = (long["n_formed"] + short["n_formed"]).astype(np.int64)
    ls["n_delisted"] = (long["n_delisted"] + short["n_delisted"]).astype(np.int64)
    ls = ls.reset_index()
    ls["portfolio"] = f"{long_portfolio}-{short_portfolio}"
    ls["quantile"] = pd.array([pd.NA] * len(ls), dtype="Int64")
    return ls


def characteristic_portfolios(
    characteristics: pd.DataFrame,
    columns: Sequence[str] | None = None,
    n_quantiles: int = 5,
    breakpoint_universe: BreakpointUniverse = "all",
    *,
    calendar: Calendar = "iso",
    period_col: str = "week_start",
    **kwargs,
) -> pd.DataFrame:
    """Quantile portfolios for several characteristics of a ``weekly_characteristics`` frame.

    Signals are the characteristic columns at t, weights the raw ``market_cap`` at t, eligibility
    ``in_universe`` at t, and returns the ``ret`` column of the same frame at t+1 (so pass the
    holding week's rows too).  Extra keyword arguments go to :func:`quantile_portfolios`.
    """
    from cryptofactor_assets.factors.characteristics import LTW_CHARACTERISTICS

    columns = list(LTW_CHARACTERISTICS if columns is None else columns)
    base = characteristics[["symbol", period_col, "market_cap", "in_universe", *columns]]
    formation = base.melt(
        id_vars=["symbol", period_col, "market_cap", "in_universe"],
        value_vars=columns,
        var_name="characteristic",
        value_name="signal",
    ).rename(columns={period_col: "period", "market_cap": "weight", "in_universe": "eligible"})
    next_returns = characteristics[["symbol", period_col, "ret"]].rename(columns={period_col: "period"})
    return quantile_portfolios(
        formation,
        next_returns,
        n_quantiles,
        breakpoint_universe,
        calendar=calendar,
        **kwargs,
    )


def _empty_portfolios() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": pd.Series(dtype="datetime64[ns]"),
            "hold_period": pd.Series(dtype="datetime64[ns]"),
            "characteristic": pd.Series(dtype=object),
            "portfolio": pd.Series(dtype=object),
            "quantile": pd.Series(dtype="Int64"),
            "ew_ret": pd.Series(dtype=float),
            "vw_ret": pd.Series(dtype=float),
            "n_coins": pd.Series(dtype=np.int64),
            "n_formed": pd.Series(dtype=np.int64),
            "n_quantiles": pd.Series(dtype=np.int64),
            "breakpoint_universe": pd.Series(dtype=object),
            "n_delisted": pd.Series(dtype=np.int64),
            "delisting_return": pd.Series(dtype=float),
        }
    )
