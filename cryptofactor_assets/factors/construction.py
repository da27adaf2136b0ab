"""LTW crypto factors CMKT, CSMB, CMOM (Liu, Tsyvinski & Wu 2022, JF 77(2), Section III, Table V).

For each formation period t (a week, or a day for the daily factors that feed rolling betas),
factor returns are earned over the holding period t+1 and use only data at t for the portfolios:

* universe: coins ``eligible`` at t (``in_universe``: market cap >= $1M on the week's last
  available day, price and volume; see ``weekly_panel``'s ``return_rule``) with a positive market
  cap at t; a coin without a return at t+1 while other coins have one (it stopped trading) earns
  ``delisting_return`` (default 0: out at its last price; -1: total loss) and keeps its weight,
  counted in ``n_delisted`` (``None``: the old rule, dropped and the weights renormalised);
* all legs are value-weighted with market cap at t;
* ``CMKT_{t+1}`` = VW return of the universe - rf_{t+1} (LTW: 1-month T-bill; ``rf`` is a scalar or a
  Series indexed by holding period, default 0; a period missing from the Series gives NaN, never a
  silent 0).  Not the change of total market cap (new listings would inflate it);
* ``CSMB_{t+1}`` = VW(bottom 30 % by market cap at t) - VW(top 30 %): 30/40/30 breakpoints;
* ``CMOM_{t+1}`` on the momentum signal at t (weekly: r3_0 = weeks t-2..t compounded; daily:
  the past ``lookback`` days, default 21 = 3 weeks, see :func:`momentum_signal`), coins with a
  missing signal are left out of the momentum legs only:

  - ``"single_sort"`` (LTW working paper): 30/40/30 sort on momentum, CMOM = VW(top 30 %) -
    VW(bottom 30 %);
  - ``"double_sort"`` (JF version as replicated): independent 2 x 3 sort on size (median) and
    momentum (30/70), six VW portfolios, CMOM = (SW + BW)/2 - (SL + BL)/2.

Breakpoints are linear-interpolation quantiles over the breakpoint universe of period t ("all"
usable coins as LTW, or "investable": see :mod:`cryptofactor_assets.factors.sorts`); bins are
right-closed (x <= b_30 is the bottom group, x > b_70 the top group; x <= median is small).
A leg with fewer than ``min_coins_per_leg`` coins with a t+1 return is NaN, and so is the factor.

The same function serves weekly (``period_col="week_start"``, calendar "iso" or "ltw") and daily
(``period_col="date"``, calendar "daily") panels.  Vectorised: grouped quantiles for breakpoints,
``numpy.bincount`` for the portfolio sums; no per-period Python loop.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.ltw_calendar import Calendar, as_datetime_ns
from cryptofactor_assets.factors.characteristics import past_returns
from cryptofactor_assets.factors.sorts import (
    DEFAULT_DELISTING_RETURN,
    BreakpointUniverse,
    assign_bins,
    attach_next_returns,
    breakpoint_basis,
    group_breakpoints,
    weighted_sums,
)

CmomConstruction = Literal["double_sort", "single_sort"]
CMOM_CONSTRUCTIONS: tuple[str, ...] = ("double_sort", "single_sort")

#: Default daily momentum look-back: 21 days = LTW's 3-week r3_0.
DAILY_MOMENTUM_LOOKBACK = 21

#: Output columns of :func:`factor_returns`.
FACTOR_COLUMNS: tuple[str, ...] = (
    "period",
    "formation_period",
    "cmkt",
    "csmb",
    "cmom",
    "rf",
    "mkt_ret",
    "n_coins",
    "n_small",
    "n_big",
    "n_mom_long",
    "n_mom_short",
    "n_delisted",
    "construction",
    "breakpoint_universe",
    "calendar",
    "delisting_return",
)


def momentum_signal(
    panel: pd.DataFrame,
    lookback: int = DAILY_MOMENTUM_LOOKBACK,
    *,
    period_col: str = "date",
    calendar: Calendar = "daily",
    ret_col: str = "ret",
) -> pd.Series:
    """Momentum r_{lookback,0} = prod_{k=0}^{lookback-1} (1 + ret_{t-k}) - 1, aligned with ``panel``.

    NaN unless all ``lookback`` consecutive period returns up to t are present (weekly r3_0 is
    ``lookback=3`` on a weekly calendar; the daily default 21 days spans the same 3 weeks).
    """
    if lookback < 1:
        raise ValueError("lookback must be >= 1")
    name = f"mom_{lookback}_0"
    r = past_returns(
        panel, period_col=period_col, calendar=calendar, ret_col=ret_col, windows={name: (lookback, 0)}
    )
    return r[name]


def factor_returns(
    panel: pd.DataFrame,
    *,
    period_col: str = "week_start",
    calendar: Calendar = "iso",
    ret_col: str = "ret",
    mcap_col: str = "market_cap",
    eligible_col: str = "in_universe",
    momentum_col: str = "r3_0",
    cmom_construction: CmomConstruction = "double_sort",
    breakpoint_universe: BreakpointUniverse = "all",
    investable_top_n: int | None = 100,
    investable_min_mcap: float | None = None,
    rf: float | pd.Series = 0.0,
    min_coins_per_leg: int = 1,
    delisting_return: float | None = DEFAULT_DELISTING_RETURN,
) -> pd.DataFrame:
    """CMKT, CSMB and CMOM returns per holding period (see the module docstring for definitions).

    Parameters
    ----------
    panel
        One row per coin-period with symbol, ``period_col``, ``ret_col`` (return earned over the
        period), ``mcap_col`` (market cap at the end of the period, raw USD: not logged nor
        winsorised), ``eligible_col`` and ``momentum_col`` (signal known at the end of the period,
        e.g. ``r3_0`` from ``weekly_characteristics`` or :func:`momentum_signal`).  Rows of period
        t+1 are needed for their returns.
    calendar
        "iso" / "ltw" (weekly) or "daily": defines the holding period t+1 of each formation t.
    cmom_construction
        "double_sort" (2 x 3 size x momentum, JF) or "single_sort" (30/40/30, WP); stored in the
        output column ``construction``.
    breakpoint_universe, investable_top_n, investable_min_mcap
        Breakpoint universe, as in :func:`cryptofactor_assets.factors.sorts.quantile_portfolios`.
    rf
        Risk-free return per holding period (scalar, or Series indexed by holding-period start).
    min_coins_per_leg
        Minimum coins with a t+1 return in each leg (and in the market) for a non-NaN factor.
    delisting_return
        What a universe coin without a t+1 return earns (module docstring); None: the old rule.

    Returns
    -------
    DataFrame with ``FACTOR_COLUMNS``: ``period`` = holding period t+1 (the period the factor return
    is earned), ``formation_period`` = t, ``mkt_ret`` = VW universe return before rf, counts of
    coins in the market / size legs / momentum legs (long = winners, short = losers, summed over
    the size halves for the double sort) and the parameters.  Periods whose holding period has no
    return data at all produce no row.
    """
    if cmom_construction not in CMOM_CONSTRUCTIONS:
        raise ValueError(f"cmom_construction must be one of {CMOM_CONSTRUCTIONS}, got {cmom_construction!r}")
    needed = ["symbol", period_col, ret_col, mcap_col, eligible_col, momentum_col]
    missing = [c for c in needed if c not in panel.columns]
    if missing:
        raise ValueError(f"panel lacks columns {missing}")

    p = panel[needed].rename(
        columns={
            period_col: "period",
            ret_col: "ret",
            mcap_col: "mcap",
            eligible_col: "eligible",
            momentum_col: "mom",
        }
    )
    p["period"] = as_datetime_ns(p["period"])
    mcap = p["mcap"].to_numpy(dtype=float, na_value=np.nan)
    usable = p["eligible"].fillna(False).astype(bool).to_numpy() & (mcap > 0)
    f = p.loc[usable, ["symbol", "period", "mcap", "mom"]].reset_index(drop=True)
    f = attach_next_returns(f, p[["symbol", "period", "ret"]], calendar=calendar, delisting_return=delisting_return)
    if f.empty:
        return _empty_factors()

    group = f.groupby("period", sort=True).ngroup().to_numpy()
    n_groups = int(group.max()) + 1
    w = f["mcap"].to_numpy(dtype=float)
    mom = f["mom"].to_numpy(dtype=float, na_value=np.nan)
    ret = f["_next_ret"].to_numpy(dtype=float, na_value=np.nan)
    basis = breakpoint_basis(
        w,
        group,
        breakpoint_universe,
        investable_top_n=investable_top_n,
        investable_min_mcap=investable_min_mcap,
    )

    # Market.
    n_mkt, _, mkt = weighted_sums(group, n_groups, ret, w)

    # Size: 30/40/30 on market cap at t.
    size_bp, _ = group_breakpoints(w, group, n_groups, basis, [0.3, 0.7])
    size_bin = assign_bins(w, group, size_bp)
    n_size, _, vw_size = weighted_sums(_code(group, size_bin, 3), n_groups * 3, ret, w)
    n_size, vw_size = n_size.reshape(n_groups, 3), vw_size.reshape(n_groups, 3)
    small, big = (
        _leg(vw_size[:, 0], n_size[:, 0], min_coins_per_leg),
        _leg(vw_size[:, 2], n_size[:, 2], min_coins_per_leg),
    )
    csmb = small - big

    # Momentum.
    has_mom = ~np.isnan(mom)
    mom_bp, _ = group_breakpoints(mom, group, n_groups, basis & has_mom, [0.3, 0.7])
    mom_bin = assign_bins(mom, group, mom_bp)  # -1 where the signal is missing
    if cmom_construction == "single_sort":
        n_m, _, vw_m = weighted_sums(_code(group, mom_bin, 3), n_groups * 3, ret, w)
        n_m, vw_m = n_m.reshape(n_groups, 3), vw_m.reshape(n_groups, 3)
        winners = _leg(vw_m[:, 2], n_m[:, 2], min_coins_per_leg)
        losers = _leg(vw_m[:, 0], n_m[:, 0], min_coins_per_leg)
        cmom = winners - losers
        n_long, n_short = n_m[:, 2], n_m[:, 0]
    else:
        # Independent sorts: the size median is taken over the coins that enter the momentum sort.
        med_bp, _ = group_breakpoints(w, group, n_groups, basis & has_mom, [0.5])
        size2 = np.where(has_mom, assign_bins(w, group, med_bp), -1)  # 0 = small, 1 = big
        cell = np.where((size2 >= 0) & (mom_bin >= 0), size2 * 3 + mom_bin, -1)  # 6 cells
        n_c, _, vw_c = weighted_sums(_code(group, cell, 6), n_groups * 6, ret, w)
        n_c, vw_c = n_c.reshape(n_groups, 6), vw_c.reshape(n_groups, 6)
        legs = np.column_stack([_leg(vw_c[:, k], n_c[:, k], min_coins_per_leg) for k in range(6)])
        # columns: SL SM SW BL BM BW
        cmom = (legs[:, 2] + legs[:, 5]) / 2.0 - (legs[:, 0] + legs[:, 3]) / 2.0
        n_long, n_short = n_c[:, 2] + n_c[:, 5], n_c[:, 0] + n_c[:, 3]

    keys = f.groupby(group, sort=True)[["period", "hold_period"]].first()
    out = pd.DataFrame(
        {
            "period": keys["hold_period"].to_numpy(),
            "formation_period": keys["period"].to_numpy(),
            "mkt_ret": _leg(mkt, n_mkt, min_coins_per_leg),
            "csmb": csmb,
            "cmom": cmom,
            "n_coins": n_mkt.astype(np.int64),
            "n_small": n_size[:, 0].astype(np.int64),
            "n_big": n_size[:, 2].astype(np.int64),
            "n_mom_long": np.asarray(n_long, dtype=np.int64),
            "n_mom_short": np.asarray(n_short, dtype=np.int64),
            "n_delisted": np.bincount(group[f["_delisted"].to_numpy()], minlength=n_groups).astype(np.int64),
        }
    )
    out = out.loc[out["n_coins"] > 0].reset_index(drop=True)
    out["rf"] = _rf_for(out["period"], rf)
    out["cmkt"] = out["mkt_ret"] - out["rf"]
    out["construction"] = cmom_construction
    out["breakpoint_universe"] = breakpoint_universe
    out["calendar"] = calendar
    out["delisting_return"] = np.nan if delisting_return is None else float(delisting_return)
    return out[list(FACTOR_COLUMNS)]


def _code(group: np.ndarray, bins: np.ndarray, n_bins: int) -> np.ndarray:
    """Flat (group, bin) code, -1 where the bin is undefined."""
    return np.where(bins >= 0, group * n_bins + bins, -1)


def _leg(vw: np.ndarray, n: np.ndarray, min_coins: int) -> np.ndarray:
    return np.where(n >= max(min_coins, 1), vw, np.nan)


def _rf_for(hold_periods: pd.Series, rf: float | pd.Series) -> np.ndarray:
    if isinstance(rf, pd.Series):
        idx = pd.DatetimeIndex(as_datetime_ns(rf.index.to_numpy()))
        series = pd.Series(rf.to_numpy(dtype=float), index=idx)
        if series.index.has_duplicates:
            raise ValueError("rf has duplicate periods")
        return series.reindex(pd.DatetimeIndex(hold_periods)).to_numpy(dtype=float)
    return np.full(len(hold_periods), float(rf))


def _empty_factors() -> pd.DataFrame:
    dtypes = {
        "period": "datetime64[ns]",
        "formation_period": "datetime64[ns]",
        "n_coins": "int64",
        "n_small": "int64",
        "n_big": "int64",
        "n_mom_long": "int64",
        "n_mom_short": "int64",
        "n_delisted": "int64",
        "construction": "object",
        "breakpoint_universe": "object",
        "calendar": "object",
    }
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in FACTOR_COLUMNS})
