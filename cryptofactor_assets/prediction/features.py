"""Point-in-time feature matrix for next-week return prediction (pure pandas / numpy, no Dagster).

One row per coin-week ``t`` (``week_start`` = Monday of ISO week t). Every feature is known at the END
of week t (Sunday 24:00 UTC); the targets are the return of week t + 1:

=================  ==================================================================================
characteristics    the 12 LTW (2022, Table II) characteristics of ``weekly_characteristics`` for week t
                   (``maxdprc`` enters in logs as ``log_maxdprc``: its USD level would act as a
                   BTC dummy in a linear model; the stored level is winsorised, the log is monotone)
rolling betas      ``rolling_betas`` as of the LAST day of week t (t + 6 days): one ``beta_<factor>`` per
                   daily factor of the rolling betas (``beta_mkt``, ``beta_size``, ``beta_mom``,
                   ``beta_vol``, ``beta_fund``, ``beta_chain``: NULL for a factor the regressions did not
                   use, e.g. FUND without funding data, and then dropped by the walk-forward's coverage
                   rule), ``beta_alpha`` (daily intercept), ``beta_r2`` and ``idio_vol`` (daily residual
                   vol) of the rolling OLS
volatility         ``rvol_1w`` sd (ddof 1) of the daily returns of week t (>= 5 returns);
                   ``rvol_4w`` the same over weeks t-3..t pooled (>= 20 returns; moments summed);
                   ``max_ret_1w`` / ``min_ret_1w`` largest / smallest daily return of week t
                   (MAX effect, Bali, Cakici & Whitelaw 2011)
volume             ``illiq`` = log(1e6 x mean_d |r_d| / dollar_volume_d) over week t (Amihud 2002);
                   ``turnover`` = log(avg daily dollar volume / last-day market cap) of week t;
                   ``dvol_growth`` = log avg dollar volume of t minus log of the mean over t-4..t-1
                   (>= 1 earlier week)
RSJ (optional)     from ``rsj_daily`` (Zhang & Zhao 2023) over week t, days with a defined RSJ:
                   ``rsj_1w`` = sum SJ / sum RV (the weekly relative signed jump, in [-1, 1]),
                   ``log_rv_1w`` = log mean daily RV, ``rskew_1w`` / ``rkurt_1w`` mean daily realised
                   skewness / kurtosis; NaN when fewer than ``min_rsj_days`` days are defined
targets            ``y_next`` = ret_{t+1} - rf_{t+1} (weekly_panel return of week t + 1, NULL unless all
                   7 daily returns exist, minus the weekly risk-free rate), ``y_up`` = 1{y_next > 0}
=================  ==================================================================================

The daily aggregates (moments, extremes, Amihud ratio per coin-week) and the weekly RSJ aggregates are
GROUP BYs done in DuckDB (``sql/prediction/select_daily_week_aggregates.sql``, ``sql/prediction/select_rsj_week_aggregates.sql``);
this module combines them. No feature of week t reads a row dated after the end of week t: rolling
windows over weeks only look backwards (``shift`` / trailing sums per coin on a complete week grid), and
the only forward-looking column is the target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cryptofactor_assets.factors.compute_daily import ALL_BETA_NAMES

CHARACTERISTIC_FEATURES: tuple[str, ...] = (
    "mcap", "prc", "log_maxdprc", "r1_0", "r2_0", "r3_0", "r4_0", "r4_1", "vol", "prcvol", "stdprcvol", "age",
)
#: The rolling betas follow the factor list of ``factors.compute_daily`` (beta_mkt ... beta_chain).
BETA_FEATURES: tuple[str, ...] = (*ALL_BETA_NAMES, "beta_alpha", "beta_r2", "idio_vol")
RISK_FEATURES: tuple[str, ...] = (
    "rvol_1w", "rvol_4w", "max_ret_1w", "min_ret_1w", "illiq", "turnover", "dvol_growth",
)
RSJ_FEATURES: tuple[str, ...] = ("rsj_1w", "log_rv_1w", "rskew_1w", "rkurt_1w")
ALL_FEATURES: tuple[str, ...] = CHARACTERISTIC_FEATURES + BETA_FEATURES + RISK_FEATURES + RSJ_FEATURES
TARGETS: tuple[str, ...] = ("y_next", "y_up")

WEEK = pd.Timedelta(weeks=1)
#: Minimum daily returns for the one-week / four-week volatilities.
MIN_RET_1W = 5
MIN_RET_4W = 20


def _ns(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).astype("datetime64[ns]")


def _log_pos(x: pd.Series | np.ndarray) -> np.ndarray:
    """log of positive values, NaN otherwise (never log(x + 1))."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)


def _empty_weekly(columns: Sequence[str]) -> pd.DataFrame:
    """No rows, with the dtypes of a filled frame (so merges on (symbol, week_start) still work)."""
    return pd.DataFrame({"symbol": pd.Series(dtype=object), "week_start": pd.Series(dtype="datetime64[ns]"),
                         **{c: pd.Series(dtype=float) for c in columns}})


def _trailing(frame: pd.DataFrame, columns: Sequence[str], n_weeks: int, include_current: bool) -> pd.DataFrame:
    """Per coin, sums of ``columns`` over the ``n_weeks`` weeks ending at t (``include_current``) or at
    t - 1, on a COMPLETE week grid: a missing week adds nothing (it is never bridged by taking earlier
    rows). ``frame`` has one row per (symbol, week_start) and no NaN in ``columns``.

    Vectorised: pivot to a (weeks x coins) array on the full grid, cumulative sum with a zero first row,
    window sums by one subtraction, shifted by one week when the current week is excluded.
    """
    if frame.empty:
        return _empty_weekly(columns)
    weeks = pd.date_range(frame["week_start"].min(), frame["week_start"].max(), freq="7D")
    syms = sorted(frame["symbol"].unique())
    T = len(weeks)
    out = pd.DataFrame({"week_start": np.repeat(weeks.to_numpy(), len(syms)),
                        "symbol": np.tile(np.asarray(syms, dtype=object), T)})
    lo = np.maximum(np.arange(1, T + 1) - n_weeks, 0)
    for c in columns:
        wide = frame.pivot(index="week_start", columns="symbol", values=c).reindex(index=weeks, columns=syms)
        x = wide.fillna(0.0).to_numpy(dtype=float)
        cs = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
        summed = cs[1:] - cs[lo]
        if not include_current:
            summed = np.vstack([np.zeros((1, x.shape[1])), summed[:-1]])
        out[c] = summed.ravel()
    return out


def risk_features(daily_agg: pd.DataFrame, weekly: pd.DataFrame) -> pd.DataFrame:
    """Volatility and volume features per (symbol, week_start) from the per-coin-week daily aggregates
    (``n_ret``, ``sum_ret``, ``sum_ret2``, ``max_ret``, ``min_ret``, ``amihud``) and the weekly panel
    (``avg_dollar_volume``, ``market_cap``). Only weeks <= t enter the row of week t."""
    d = daily_agg.copy()
    d["week_start"] = _ns(d["week_start"])
    d = d.sort_values(["symbol", "week_start"])
    n = d["n_ret"].to_numpy(dtype=float)
    s1, s2 = d["sum_ret"].to_numpy(dtype=float), d["sum_ret2"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        var1 = (s2 - s1 * s1 / n) / (n - 1)
    d["rvol_1w"] = np.where(n >= MIN_RET_1W, np.sqrt(np.clip(var1, 0.0, None)), np.nan)
    d["max_ret_1w"] = d["max_ret"].astype(float)
    d["min_ret_1w"] = d["min_ret"].astype(float)
    d["illiq"] = _log_pos(1e6 * d["amihud"].astype(float))
    sums = _trailing(d[["symbol", "week_start", "n_ret", "sum_ret", "sum_ret2"]].fillna(0.0),
                     ["n_ret", "sum_ret", "sum_ret2"], 4, include_current=True)
    n4, a4, b4 = (sums[c].to_numpy(dtype=float) for c in ("n_ret", "sum_ret", "sum_ret2"))
    with np.errstate(divide="ignore", invalid="ignore"):
        var4 = (b4 - a4 * a4 / n4) / (n4 - 1)
    sums["rvol_4w"] = np.where(n4 >= MIN_RET_4W, np.sqrt(np.clip(var4, 0.0, None)), np.nan)
    d = d.merge(sums[["symbol", "week_start", "rvol_4w"]], on=["symbol", "week_start"], how="left")

    w = weekly[["symbol", "week_start", "avg_dollar_volume", "market_cap"]].copy()
    w["week_start"] = _ns(w["week_start"])
    w["turnover"] = _log_pos(w["avg_dollar_volume"].astype(float) / w["market_cap"].astype(float))
    w["log_dv"] = _log_pos(w["avg_dollar_volume"])
    w["_dv"] = np.where(np.isfinite(w["log_dv"]), w["avg_dollar_volume"].astype(float), np.nan)
    w["_has"] = np.isfinite(w["_dv"]).astype(float)
    prev = _trailing(w[["symbol", "week_start", "_dv", "_has"]].fillna(0.0), ["_dv", "_has"], 4,
                     include_current=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        prev["prev_dv"] = np.where(prev["_has"] > 0, prev["_dv"] / prev["_has"], np.nan)
    w = w.merge(prev[["symbol", "week_start", "prev_dv"]], on=["symbol", "week_start"], how="left")
    w["dvol_growth"] = w["log_dv"] - _log_pos(w["prev_dv"])
    out = w[["symbol", "week_start", "turnover", "dvol_growth"]].merge(
        d[["symbol", "week_start", "rvol_1w", "rvol_4w", "max_ret_1w", "min_ret_1w", "illiq"]],
        on=["symbol", "week_start"], how="outer")
    return out


def rsj_features(rsj_agg: pd.DataFrame | None, min_rsj_days: int = 4) -> pd.DataFrame:
    """Weekly RSJ features from the per-coin-week sums (``n_rsj_days``, ``sum_sj``, ``sum_rv``,
    ``mean_rskew``, ``mean_rkurt`` over days with a defined RSJ); NaN below ``min_rsj_days`` days."""
    cols = ["symbol", "week_start", *RSJ_FEATURES]
    if rsj_agg is None or rsj_agg.empty:
        return _empty_weekly(RSJ_FEATURES)
    r = rsj_agg.copy()
    r["week_start"] = _ns(r["week_start"])
    ok = (r["n_rsj_days"].to_numpy() >= min_rsj_days) & (r["sum_rv"].to_numpy(dtype=float) > 0)
    n = np.maximum(r["n_rsj_days"].to_numpy(dtype=float), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r["rsj_1w"] = np.where(ok, r["sum_sj"] / r["sum_rv"], np.nan)
        r["log_rv_1w"] = np.where(ok, _log_pos(r["sum_rv"].to_numpy(dtype=float) / n), np.nan)
    r["rskew_1w"] = np.where(ok, r["mean_rskew"].astype(float), np.nan)
    r["rkurt_1w"] = np.where(ok, r["mean_rkurt"].astype(float), np.nan)
    return r[cols]


def build_feature_matrix(chars: pd.DataFrame, betas: pd.DataFrame, daily_agg: pd.DataFrame,
                         weekly: pd.DataFrame, rf_weekly: pd.Series | float = 0.0,
                         rsj_agg: pd.DataFrame | None = None, min_rsj_days: int = 4) -> pd.DataFrame:
    """The feature matrix for every (symbol, week_start) row of ``chars`` (see the module docstring).

    Inputs (long frames, DATE columns as datetimes):

    * ``chars``: ``weekly_characteristics`` rows (symbol, week_start, the 12 characteristics,
      ``in_universe``);
    * ``betas``: ``rolling_betas`` rows; the row of week t uses the one dated ``week_start + 6 days``;
    * ``daily_agg``: per coin-week daily aggregates (``select_daily_week_aggregates.sql``), weeks t-3..t;
    * ``weekly``: ``weekly_panel`` rows (``ret``, ``avg_dollar_volume``, ``market_cap``), weeks t-4..t+1
      (week t + 1 only for the target: rows of weeks absent from ``weekly`` get a NULL target);
    * ``rf_weekly``: weekly simple risk-free rate by week start (a Series) or a constant;
    * ``rsj_agg``: per coin-week RSJ sums (``select_rsj_week_aggregates.sql``) or None (features NaN).
    """
    base = chars[["symbol", "week_start", "in_universe", *[c for c in CHARACTERISTIC_FEATURES
                                                           if c != "log_maxdprc"], "maxdprc"]].copy()
    base["week_start"] = _ns(base["week_start"])
    base["log_maxdprc"] = _log_pos(base.pop("maxdprc"))

    b = betas.reindex(columns=["symbol", "date", *ALL_BETA_NAMES, "alpha", "r2", "resid_vol"]).copy()
    b["week_start"] = _ns(b.pop("date")) - pd.Timedelta(days=6)  # as of the last day of the week
    b = b.rename(columns={"alpha": "beta_alpha", "r2": "beta_r2", "resid_vol": "idio_vol"})
    out = base.merge(b, on=["symbol", "week_start"], how="left")

    risk = risk_features(daily_agg, weekly)
    out = out.merge(risk, on=["symbol", "week_start"], how="left")
    out = out.merge(rsj_features(rsj_agg, min_rsj_days), on=["symbol", "week_start"], how="left")

    nxt = weekly[["symbol", "week_start", "ret"]].copy()
    nxt["week_start"] = _ns(nxt["week_start"]) - WEEK  # the return of t + 1 on the row of t
    out = out.merge(nxt.rename(columns={"ret": "ret_next"}), on=["symbol", "week_start"], how="left")
    out["target_week"] = out["week_start"] + WEEK
    if isinstance(rf_weekly, pd.Series):
        rf = rf_weekly.copy()
        rf.index = pd.DatetimeIndex(rf.index).astype("datetime64[ns]")
        out["rf_next"] = rf.reindex(pd.DatetimeIndex(out["target_week"])).to_numpy(dtype=float)
    else:
        out["rf_next"] = float(rf_weekly)
    out["y_next"] = out["ret_next"].astype(float) - out["rf_next"]
    out["y_up"] = pd.array(np.where(out["y_next"].notna(), out["y_next"] > 0, pd.NA), dtype="boolean")
    cols = ["symbol", "week_start", "target_week", "in_universe", *ALL_FEATURES, "ret_next", "rf_next",
            "y_next", "y_up"]
    for c in ALL_FEATURES:
        out[c] = out[c].astype(float).replace([np.inf, -np.inf], np.nan)
    return out[cols].sort_values(["week_start", "symbol"]).reset_index(drop=True)


def usable_features(frame: pd.DataFrame, candidates: Sequence[str] = ALL_FEATURES,
                    min_coverage: float = 0.5) -> tuple[list[str], list[str]]:
    """(features kept, features dropped): a feature defined on fewer than ``min_coverage`` of the rows
    with a target is dropped (e.g. RSJ when ``rsj_daily`` is absent) instead of emptying the panel."""
    rows = frame[frame["y_next"].notna()]
    keep, drop = [], []
    for c in candidates:
        share = float(rows[c].notna().mean()) if len(rows) and c in rows else 0.0
        (keep if share >= min_coverage else drop).append(c)
    return keep, drop
