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

Signal factors (the chapter's VOL, FUND, CHAIN; ``signals``): each is built like CMOM on its own
signal column (known at t; coins without it are left out of that factor's legs only), with the same
``cmom_construction`` but a DEPENDENT size sort: ``"double_sort"`` = size halves (median over the
coins with the signal), then 30/70 breakpoints of the signal WITHIN each half, (S_long + B_long)/2 -
(S_short + B_short)/2; ``"single_sort"`` = VW(long 30 %) - VW(short 30 %). Dependent, not CMOM's
independent sort, because volatility is tied to size (small coins are the volatile ones): an
independent sort leaves the big / high-volatility cell empty on many days (13 % of the simulated 2023-2024 days,
and the factor undefined on them), while within-half breakpoints always fill the six cells and make
the factor size-neutral by construction. The long leg is the signal's top 30 % (``"high"``) or bottom
30 % (``"low"``): VOL and FUND hold the low side (low volatility, low funding: the carry direction),
CHAIN the high side (growing on-chain activity). Value-weighted like every leg here (market cap at
t). A period where no coin has the signal (its input does not exist: no funding on spot or file
sources, no on-chain file) gives NaN, never 0, and zero leg counts.

The same function serves weekly (``period_col="week_start"``, calendar "iso" or "ltw") and daily
(``period_col="date"``, calendar "daily") panels.  Vectorised: grouped quantiles for breakpoints,
``numpy.bincount`` for the portfolio sums; no per-period Python loop.
"""

from __future__ import annotations

from collections.abc import Mapping
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


SignalSide = Literal["high", "low"]


def factor_columns(signals=()) -> tuple[str, ...]:
    """:data:`FACTOR_COLUMNS` plus, per signal factor name, the factor and its long / short leg counts."""
    extra = [c for name in signals for c in (name, f"n_{name}_long", f"n_{name}_short")]
    return (*FACTOR_COLUMNS, *extra)


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
    signals: Mapping[str, tuple[str, SignalSide]] | None = None,
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
    signals
        Further signal factors, ``{name: (signal column of panel, long side "high" | "low")}``, each
        built like CMOM with ``cmom_construction`` (module docstring): output columns ``name``,
        ``n_<name>_long``, ``n_<name>_short``.

    Returns
    -------
    DataFrame with ``factor_columns(signals)``: ``period`` = holding period t+1 (the period the factor return
    is earned), ``formation_period`` = t, ``mkt_ret`` = VW universe return before rf, counts of
    coins in the market / size legs / momentum legs (long = winners, short = losers, summed over
    the size halves for the double sort) and the parameters.  Periods whose holding period has no
    return data at all produce no row.
    """
    if cmom_construction not in CMOM_CONSTRUCTIONS:
        raise ValueError(f"cmom_construction must be one of {CMOM_CONSTRUCTIONS}, got {cmom_construction!r}")
    signals = dict(signals or {})
    for name, (_, side) in signals.items():
        if side not in ("high", "low"):
            raise ValueError(f"signal factor {name!r}: the long side must be 'high' or 'low', got {side!r}")
        if name in FACTOR_COLUMNS:
            raise ValueError(f"signal factor name {name!r} clashes with an output column")
    signal_cols = {f"_sig_{name}": column for name, (column, _) in signals.items()}
    needed = ["symbol", period_col, ret_col, mcap_col, eligible_col, momentum_col]
    missing = [c for c in [*needed, *signal_cols.values()] if c not in panel.columns]
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
    for alias, column in signal_cols.items():
        p[alias] = panel[column].to_numpy(dtype=float, na_value=np.nan)
    p["period"] = as_datetime_ns(p["period"])
    mcap = p["mcap"].to_numpy(dtype=float, na_value=np.nan)
    usable = p["eligible"].fillna(False).astype(bool).to_numpy() & (mcap > 0)
    f = p.loc[usable, ["symbol", "period", "mcap", "mom", *signal_cols]].reset_index(drop=True)
    f = attach_next_returns(f, p[["symbol", "period", "ret"]], calendar=calendar, delisting_return=delisting_return)
    if f.empty:
        return _empty_factors(signals)

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

    # Momentum (independent size sort, LTW) and the signal factors (dependent size sort).
    cmom, n_long, n_short = _signal_factor(mom, "high", group, n_groups, basis, w, ret, cmom_construction,
                                           min_coins_per_leg, dependent=False)
    extra = {}
    for name, (_, side) in signals.items():
        values = f[f"_sig_{name}"].to_numpy(dtype=float, na_value=np.nan)
        extra[name] = _signal_factor(values, side, group, n_groups, basis, w, ret, cmom_construction,
                                     min_coins_per_leg, dependent=True)

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
    for name, (factor, n_l, n_s) in extra.items():
        out[name] = factor
        out[f"n_{name}_long"] = np.asarray(n_l, dtype=np.int64)
        out[f"n_{name}_short"] = np.asarray(n_s, dtype=np.int64)
    out = out.loc[out["n_coins"] > 0].reset_index(drop=True)
    out["rf"] = _rf_for(out["period"], rf)
    out["cmkt"] = out["mkt_ret"] - out["rf"]
    out["construction"] = cmom_construction
    out["breakpoint_universe"] = breakpoint_universe
    out["calendar"] = calendar
    out["delisting_return"] = np.nan if delisting_return is None else float(delisting_return)
    return out[list(factor_columns(signals))]


def _signal_factor(values: np.ndarray, side: str, group: np.ndarray, n_groups: int, basis: np.ndarray,
                   w: np.ndarray, ret: np.ndarray, construction: str, min_coins: int, dependent: bool = False
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(factor, long-leg count, short-leg count) per group of a 30/70 sort on ``values`` (NaN: left out),
    long the top 30 % (``side`` "high") or the bottom 30 % ("low"), built as ``construction``; the
    double sort's signal breakpoints over the whole group (independent) or within each size half
    (``dependent``)."""
    has = ~np.isnan(values)
    hi, lo = (2, 0) if side == "high" else (0, 2)
    if construction != "single_sort" and dependent:
        med_bp, _ = group_breakpoints(w, group, n_groups, basis & has, [0.5])
        size2 = np.where(has, assign_bins(w, group, med_bp), -1)  # 0 = small, 1 = big
        half = np.where(size2 >= 0, group * 2 + size2, 0)
        bp, _ = group_breakpoints(values, half, n_groups * 2, basis & (size2 >= 0), [0.3, 0.7])
        bins = np.where(size2 >= 0, assign_bins(values, half, bp), -1)
        cell = np.where(bins >= 0, size2 * 3 + bins, -1)
        return _six_cells(cell, group, n_groups, w, ret, min_coins, hi, lo)
    bp, _ = group_breakpoints(values, group, n_groups, basis & has, [0.3, 0.7])
    bins = assign_bins(values, group, bp)  # -1 where the signal is missing
    if construction == "single_sort":
        n_m, _, vw_m = weighted_sums(_code(group, bins, 3), n_groups * 3, ret, w)
        n_m, vw_m = n_m.reshape(n_groups, 3), vw_m.reshape(n_groups, 3)
        factor = _leg(vw_m[:, hi], n_m[:, hi], min_coins) - _leg(vw_m[:, lo], n_m[:, lo], min_coins)
        return factor, n_m[:, hi], n_m[:, lo]
    # Independent sorts: the size median is taken over the coins that enter the signal's sort.
    med_bp, _ = group_breakpoints(w, group, n_groups, basis & has, [0.5])
    size2 = np.where(has, assign_bins(w, group, med_bp), -1)  # 0 = small, 1 = big
    cell = np.where((size2 >= 0) & (bins >= 0), size2 * 3 + bins, -1)  # 6 cells: S0 S1 S2 B0 B1 B2
    return _six_cells(cell, group, n_groups, w, ret, min_coins, hi, lo)


def _six_cells(cell: np.ndarray, group: np.ndarray, n_groups: int, w: np.ndarray, ret: np.ndarray,
               min_coins: int, hi: int, lo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 2 x 3 factor (S_hi + B_hi)/2 - (S_lo + B_lo)/2 and its long / short counts from cell codes
    0..5 (size half x 3 + signal bin; -1 = out)."""
    n_c, _, vw_c = weighted_sums(_code(group, cell, 6), n_groups * 6, ret, w)
    n_c, vw_c = n_c.reshape(n_groups, 6), vw_c.reshape(n_groups, 6)
    legs = np.column_stack([_leg(vw_c[:, k], n_c[:, k], min_coins) for k in range(6)])
    factor = (legs[:, hi] + legs[:, 3 + hi]) / 2.0 - (legs[:, lo] + legs[:, 3 + lo]) / 2.0
    return factor, n_c[:, hi] + n_c[:, 3 + hi], n_c[:, lo] + n_c[:, 3 + lo]


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


def _empty_factors(signals=()) -> pd.DataFrame:
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
    dtypes.update({f"n_{name}_{leg}": "int64" for name in signals for leg in ("long", "short")})
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in factor_columns(signals)})
