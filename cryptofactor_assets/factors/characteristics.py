"""LTW weekly coin characteristics (Liu, Tsyvinski & Wu 2022, JF 77(2), Section II and Table II).

Per coin-week t (formation week), from the ``weekly_panel`` layout, using data up to the END of
week t only:

==============  =================================================================================
``mcap``        log(last-day market cap)
``prc``         log(last-day close)
``maxdprc``     max daily close of the week (LTW: "maximum price of the week", NOT logged; set
                ``log_maxdprc=True`` for regressions; quantile sorts are invariant to the log)
``r1_0``..      r_{i,j} = P(end of week t-j) / P(end of week t-i) - 1
``r4_0``        = prod_{k=j}^{i-1} (1 + ret_{t-k}) - 1: r1_0 is week t's own return, r3_0 compounds
                weeks t-2, t-1, t (the CMOM signal)
``r4_1``        P(end of t-1) / P(end of t-4) - 1 = weeks t-3, t-2, t-1 compounded, skipping week t
``vol``         log(mean daily volume); the column is a parameter (``vol_column``): the default
                ``avg_volume`` is base-coin volume from exchange bars; CoinGecko / CMC "volume" is
                already USD, so pass ``vol_column="avg_dollar_volume"`` to mimic LTW's VOL on it
``prcvol``      log(mean daily price x volume) = log(avg_dollar_volume) (USD).  LTW multiply CMC's
                USD volume by price once more; we keep the economically meaningful USD turnover
``stdprcvol``   log(sample std of daily dollar volume)
``age``         weeks since the coin's first row (``age_weeks``)
==============  =================================================================================

Logs are plain logs of positive values: a zero or negative input (zero volume, constant volume
giving std 0) is undefined -> NaN.  Never log(x + 1) (a pitfall of public replications).

Returns need every involved week present with a defined weekly return (``weekly_panel.ret`` under its
``return_rule``: LTW's last available price of the week by default, or a complete week of daily
returns): a missing week anywhere in the window gives NaN (we never compound across a gap).  Gaps are detected with consecutive period ids
(``ltw_calendar.period_id``), so LTW's 8/9-day week 52 is handled.

Non-return characteristics are winsorised cross-sectionally each week at the ``winsor`` quantiles
(default 1 % / 99 %, linear-interpolation quantiles as ``numpy.quantile``); returns are never
winsorised.  By default bounds are computed on, and applied to, the eligible coins of the week
(``in_universe``: market cap >= $1M on the week's last available day, by ``weekly_panel``'s
``return_rule``), the universe LTW work on; non-eligible rows keep their raw values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.ltw_calendar import Calendar, as_datetime_ns, period_id, period_start

#: Past-return windows (i, j): r_{i,j} = P_{t-j} / P_{t-i} - 1 (LTW notation).
LTW_RETURN_WINDOWS: dict[str, tuple[int, int]] = {
    "r1_0": (1, 0),
    "r2_0": (2, 0),
    "r3_0": (3, 0),
    "r4_0": (4, 0),
    "r4_1": (4, 1),
}
#: Non-return characteristics, winsorised by default.
LTW_LEVEL_CHARACTERISTICS: tuple[str, ...] = ("mcap", "prc", "maxdprc", "vol", "prcvol", "stdprcvol", "age")
#: All LTW characteristics in output order.
LTW_CHARACTERISTICS: tuple[str, ...] = (
    "mcap",
    "prc",
    "maxdprc",
    "r1_0",
    "r2_0",
    "r3_0",
    "r4_0",
    "r4_1",
    "vol",
    "prcvol",
    "stdprcvol",
    "age",
)


def _log_positive(x: pd.Series) -> pd.Series:
    """log(x) for x > 0, NaN otherwise (zero / negative / missing have no log)."""
    v = x.to_numpy(dtype=float, na_value=np.nan)
    out = np.full(v.shape, np.nan)
    pos = v > 0  # NaN compares False
    out[pos] = np.log(v[pos])
    return pd.Series(out, index=x.index)


def past_returns(
    panel: pd.DataFrame,
    *,
    period_col: str = "week_start",
    calendar: Calendar = "iso",
    ret_col: str = "ret",
    windows: Mapping[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Cumulative past returns r_{i,j} = prod_{k=j}^{i-1} (1 + ret_{t-k}) - 1 for every panel row.

    ``ret`` of period t is the return earned over period t (end of t-1 to end of t).  A value is
    NaN unless the coin has a non-missing return in each of the periods t-i+1 .. t-j, with periods
    consecutive on ``calendar`` (so gaps never get compounded over).  Uses periods <= t only.

    Implementation: scatter 1 + ret into a dense (period id x coin) matrix with NaN holes and
    multiply shifted copies (NaN propagates a gap); vectorised across coins and periods.

    Returns a frame aligned with ``panel.index`` holding one column per window name.
    """
    windows = dict(LTW_RETURN_WINDOWS if windows is None else windows)
    for name, (i, j) in windows.items():
        if not (isinstance(i, int | np.integer) and isinstance(j, int | np.integer) and 0 <= j < i):
            raise ValueError(f"window {name}: need integers 0 <= j < i, got {(i, j)}")
    out = pd.DataFrame(index=panel.index)
    if panel.empty:
        for name in windows:
            out[name] = pd.Series(dtype=float)
        return out
    starts = as_datetime_ns(panel[period_col].to_numpy())
    if (period_start(starts, calendar) != starts).any():
        # e.g. LTW week starts read on the ISO calendar: refuse rather than mis-detect gaps
        raise ValueError(f"{period_col} holds dates that are not {calendar!r} period starts")
    pid = period_id(starts, calendar)
    codes, _ = pd.factorize(panel["symbol"])
    row = pid - pid.min()
    n_rows = int(row.max()) + 1
    n_coins = int(codes.max()) + 1
    flat = row * n_coins + codes
    if np.bincount(flat, minlength=n_rows * n_coins).max() > 1:
        raise ValueError("panel has duplicate (symbol, period) rows")
    gross = np.full((n_rows, n_coins), np.nan)
    gross[row, codes] = 1.0 + panel[ret_col].to_numpy(dtype=float, na_value=np.nan)

    # prod[L][t] = product of gross over the L periods t-L+1 .. t (NaN if any is missing or t < L-1),
    # built by one running multiplication; only the lengths L = i - j that are used are kept.
    lengths = {i - j for i, j in windows.values()}
    prods: dict[int, np.ndarray] = {}
    run = gross.copy()
    for length in range(1, max(lengths) + 1):
        if length > 1:
            run[length - 1 :] = run[length - 2 : n_rows - 1] * gross[length - 1 :]
            run[: length - 1] = np.nan
        if length in lengths:
            prods[length] = run.copy()
    for name, (i, j) in windows.items():
        mat = prods[i - j]
        # r_{i,j} at t = product over t-i+1 .. t-j = the (i-j)-period product ending at t-j
        vals = np.full(row.size, np.nan)
        ok = row >= j
        vals[ok] = mat[row[ok] - j, codes[ok]]
        out[name] = vals - 1.0
    return out


def _winsorize_by_period(
    values: pd.DataFrame,
    periods: pd.Series,
    basis: pd.Series,
    lower: float,
    upper: float,
) -> pd.DataFrame:
    """Clip each column to its per-period [q_lower, q_upper] computed on ``basis`` rows.

    Quantiles are linear-interpolation quantiles (numpy / pandas default) of the non-missing basis
    values of the period; only basis rows are clipped.  One grouped quantile call per column.
    """
    out = values.copy()
    for col in values.columns:
        sel = basis & values[col].notna()
        if not sel.any():
            continue
        q = values.loc[sel, col].groupby(periods[sel]).quantile([lower, upper]).unstack()
        lo = periods.map(q[lower])
        hi = periods.map(q[upper])
        clipped = values[col].clip(lower=lo, upper=hi)
        out[col] = values[col].where(~basis, clipped)
    return out


def weekly_characteristics(
    weekly_panel_history: pd.DataFrame,
    winsor: tuple[float, float] | None = (0.01, 0.99),
    *,
    calendar: Calendar = "iso",
    winsorize_on: str = "eligible",
    winsorize_columns: Sequence[str] = LTW_LEVEL_CHARACTERISTICS,
    vol_column: str = "avg_volume",
    log_maxdprc: bool = False,
) -> pd.DataFrame:
    """LTW characteristics per coin-week from a ``weekly_panel`` history (see module docstring).

    Parameters
    ----------
    weekly_panel_history
        Rows of ``weekly_panel`` (symbol, week_start, ret, close, market_cap, max_price, avg_volume,
        avg_dollar_volume, std_dollar_volume, age_weeks, in_universe).  To compute week t, pass at
        least weeks t-4 .. t; earlier weeks are simply not needed, later weeks are never used.
    winsor
        (lower, upper) quantiles for the cross-sectional winsorisation of ``winsorize_columns``
        each week; None disables it.  Returns are never winsorised.
    calendar
        "iso" (production) or "ltw": defines which weeks are consecutive.
    winsorize_on
        "eligible": bounds from and clipping of ``in_universe`` rows only; "all": every row.
    vol_column
        Weekly-panel column whose log is VOL (see module docstring for the unit choice).
    log_maxdprc
        False (LTW's definition) keeps MAXDPRC in USD; True takes its log.

    Returns
    -------
    DataFrame with symbol, week_start, the 12 characteristics of ``LTW_CHARACTERISTICS``, the
    unwinsorised ``market_cap`` (portfolio weights) and ``ret`` of the week, ``in_universe``, and the
    parameters (``winsor_lower``, ``winsor_upper``, ``calendar``) stored on every row.
    """
    if winsorize_on not in ("eligible", "all"):
        raise ValueError("winsorize_on must be 'eligible' or 'all'")
    if winsor is not None:
        lo, hi = winsor
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"winsor must satisfy 0 <= lower < upper <= 1, got {winsor}")
    unknown = set(winsorize_columns) - set(LTW_LEVEL_CHARACTERISTICS)
    if unknown:
        raise ValueError(f"only non-return characteristics can be winsorised, got {sorted(unknown)}")

    wp = weekly_panel_history.copy()
    wp["week_start"] = as_datetime_ns(wp["week_start"])
    wp = wp.sort_values(["week_start", "symbol"], kind="mergesort").reset_index(drop=True)

    out = pd.DataFrame({"symbol": wp["symbol"], "week_start": wp["week_start"]})
    out["mcap"] = _log_positive(wp["market_cap"])
    out["prc"] = _log_positive(wp["close"])
    out["maxdprc"] = _log_positive(wp["max_price"]) if log_maxdprc else wp["max_price"].astype(float)
    rets = past_returns(wp, period_col="week_start", calendar=calendar, windows=LTW_RETURN_WINDOWS)
    for name in LTW_RETURN_WINDOWS:
        out[name] = rets[name]
    out["vol"] = _log_positive(wp[vol_column])
    out["prcvol"] = _log_positive(wp["avg_dollar_volume"])
    out["stdprcvol"] = _log_positive(wp["std_dollar_volume"])
    out["age"] = wp["age_weeks"].astype(float)

    eligible = wp["in_universe"].fillna(False).astype(bool)
    if winsor is not None and len(winsorize_columns) > 0:
        cols = list(winsorize_columns)
        basis = eligible if winsorize_on == "eligible" else pd.Series(True, index=wp.index)
        out[cols] = _winsorize_by_period(out[cols], out["week_start"], basis, winsor[0], winsor[1])

    out["market_cap"] = wp["market_cap"].astype(float)
    out["ret"] = wp["ret"].astype(float)
    out["in_universe"] = eligible
    out["winsor_lower"] = np.nan if winsor is None else float(winsor[0])
    out["winsor_upper"] = np.nan if winsor is None else float(winsor[1])
    out["calendar"] = calendar
    return out
