"""Factor-specific glue between the stored tables and the factor numerics (no dagster import).

* reading: :func:`read_weekly_factors` (stored weekly factor returns of one construction);
* assembly of the cross-sections for Fama-MacBeth (:func:`fm_cross_sections`; the z-scores are
  :func:`cryptofactor_assets.estimators.panels.standardise_cross_section`) and the summary of stored
  per-period gammas (:func:`summarise_gammas`, same conventions as :func:`fama_macbeth.fama_macbeth`);
* time-series statistics of long-short portfolios (:func:`long_short_statistics`, LTW 2022 Table VIII
  style) and the per-coin regime signals of rolling betas (:func:`regime_signals`).

Everything here takes and returns pandas / numpy objects; the table functions of
``factors/compute_*.py`` call these, and the Dagster shells (``factors/assets_*.py``) only read, call
those and write. Generic reading and
shaping: :mod:`cryptofactor_assets.storage.frames`, :mod:`cryptofactor_assets.estimators.panels`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.analytics.backtest import backtest_report
from cryptofactor_assets.estimators.fama_macbeth import cross_section_gammas, summarise_gammas_arrays
from cryptofactor_assets.estimators.hac import LagRule, ols_hac
from cryptofactor_assets.estimators.ltw_calendar import as_datetime_ns
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import ensure_table, load_sql


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
def read_weekly_factors(con, construction: str) -> pd.DataFrame:
    """Stored weekly ``cmkt, csmb, cmom`` of one construction indexed by ``week_start`` (empty when none)."""
    ensure_table(con, "factor_returns_weekly")
    frame = read_sql_frame(con, load_sql("select_weekly_factors", domain="factors"),
                           {"construction": construction}, ["week_start"])
    return frame.set_index("week_start")


# --------------------------------------------------------------------------------------------
# Fama-MacBeth cross-sections
# --------------------------------------------------------------------------------------------
def fm_cross_sections(
    y: np.ndarray,
    x: np.ndarray,
    *,
    min_coins: int | None = None,
    singular_tol: float = 1e-10,
) -> dict[str, np.ndarray]:
    """Per-period cross-sectional OLS of ``y`` (T, N) on [1, ``x`` (T, N, K)].

    The per-period first step of :func:`fama_macbeth.fama_macbeth` (its batched solver, so the
    stored gammas are exactly the ones ``fama_macbeth`` would average); unlike ``fama_macbeth`` it
    does not need two periods, so a single weekly partition can be computed on its own.
    Returns gammas (T, K + 1) with the intercept first, r2, n (coins used), used (bool).
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    k = x.shape[2]
    if min_coins is None:
        min_coins = k + 2
    cs = cross_section_gammas(y, x, True, min_coins, singular_tol)
    return {"gammas": cs["gammas"], "r2": cs["r2"], "n": cs["n"], "used": cs["used"]}


def summarise_gammas(gammas: np.ndarray, lag_rule: LagRule = "4t100", lags: int | None = None) -> dict:
    """Time-series summary of stored per-period gammas (T, P), all rows used: mean, std, se,
    t, NW se / t (Bartlett, ``S / (T (T - 1))``), lag used and rule; exactly the conventions of
    :func:`fama_macbeth.fama_macbeth` (linearmodels ``FamaMacBeth`` kernel covariance)."""
    g = np.asarray(gammas, dtype=float)
    if not np.all(np.isfinite(g)):
        raise ValueError("gammas must be finite (store only the periods that were estimated)")
    return summarise_gammas_arrays(g, np.ones(g.shape[0], dtype=bool), lags, lag_rule, True)


# --------------------------------------------------------------------------------------------
# Long-short statistics (LTW Table VIII style)
# --------------------------------------------------------------------------------------------
def long_short_statistics(
    returns: pd.Series,
    factors: pd.DataFrame,
    *,
    lag_rule: LagRule = "4t100",
    periods_per_year: float = 52,
    market: str = "cmkt",
) -> dict[str, float | int | str]:
    """Mean with its Newey-West t, CAPM alpha on ``market`` and multi-factor alpha on every column
    of ``factors`` (OLS, Newey-West t, statsmodels ``cov_type="HAC"`` conventions), plus
    :func:`backtest_report` annualised statistics.  ``returns`` and ``factors`` are indexed by
    holding week; regressions use the weeks where all series exist."""
    r = pd.Series(returns, dtype=float).dropna().sort_index()
    mean_fit = ols_hac(r.to_numpy(), np.ones((len(r), 1)), lags=lag_rule)
    joined = pd.concat([r.rename("_r"), factors], axis=1, join="inner").dropna()
    capm = ols_hac(joined["_r"].to_numpy(), joined[[market]].to_numpy(), lags=lag_rule, add_constant=True)
    multi = ols_hac(joined["_r"].to_numpy(), joined[list(factors.columns)].to_numpy(), lags=lag_rule,
                    add_constant=True)
    rep = backtest_report(r, periods_per_year=periods_per_year, nw_lags=lag_rule)
    out: dict[str, float | int | str] = {
        "n_weeks": int(len(r)),
        "mean": float(r.mean()),
        "mean_t_nw": float(mean_fit.tvalues[0]),
        "capm_alpha": float(capm.params[0]),
        "capm_alpha_t": float(capm.tvalues[0]),
        "capm_beta": float(capm.params[1]),
        "f3_alpha": float(multi.params[0]),
        "f3_alpha_t": float(multi.tvalues[0]),
        "n_regression_weeks": int(multi.nobs),
        "ann_return": float(rep.ann_return),
        "ann_vol": float(rep.ann_vol),
        "sharpe": float(rep.sharpe),
        "max_drawdown": float(rep.max_drawdown),
        "nw_lags": int(mean_fit.lags),
        "lag_rule": str(lag_rule),
    }
    for i, name in enumerate(factors.columns):
        out[f"f3_beta_{name}"] = float(multi.params[1 + i])
    return out


# --------------------------------------------------------------------------------------------
# Regime signals from rolling betas
# --------------------------------------------------------------------------------------------
def regime_signals(
    betas: pd.DataFrame,
    *,
    horizon: int = 90,
    z_threshold: float = 3.0,
    recent_days: int = 90,
) -> pd.DataFrame:
    """Per coin: beta stability, R² decay and dated regime shifts from stored rolling betas.

    ``betas`` has symbol, date, beta_mkt, beta_mkt_se, r2 (one row per coin-day with an estimate) and
    optionally se_type (the kind of the stored standard errors; missing / NULL = classical, the only
    kind stored before the column existed), reported per coin in ``se_type``.

    * beta stability: ``beta_cv`` = sd(beta_mkt) / |mean(beta_mkt)| over all the coin's estimates
      (sample sd, ddof 1); large = unstable exposure;
    * R² decay: ``r2_recent`` = mean R² over the coin's last ``recent_days`` calendar days with an
      estimate, ``r2_longrun`` = mean over all its estimates, ``r2_decay`` = recent - long-run
      (negative: the factors explain the coin less and less);
    * regime shift at day t: z_t = (b_t - b_{t-h}) / sqrt(se_t² + se_{t-h}²) with h = ``horizon``
      calendar days and se the stored standard errors of beta_mkt (heteroskedasticity-robust HC3 by
      default, see ``factors/compute_daily.py``: classical errors understate the sampling variance
      of betas when the residual variance moves with the factors, and over-flag).  With h >= the rolling window the
      two windows do not overlap, so the estimates are independent and z is approximately N(0, 1)
      under a constant beta (a Chow-type test); a shift is flagged where |z| > ``z_threshold``.
      Consecutive flagged days form ONE shift event dated by its first day (``shift_dates``).
      Uses estimates up to t only.
    """
    need = ["symbol", "date", "beta_mkt", "beta_mkt_se", "r2"]
    missing = [c for c in need if c not in betas.columns]
    if missing:
        raise ValueError(f"betas lack columns {missing}")
    b = betas[need].copy()
    b["_se_type"] = (betas["se_type"].astype(object).where(betas["se_type"].notna(), "classical")
                     if "se_type" in betas.columns else "classical")
    b["date"] = as_datetime_ns(b["date"])
    b = b.sort_values(["symbol", "date"], kind="mergesort").reset_index(drop=True)
    if b.empty:
        return _empty_regime()
    # z against the estimate h days earlier (exact calendar lag, via a self-merge).
    lagged = b[["symbol", "date", "beta_mkt", "beta_mkt_se"]].copy()
    lagged["date"] = lagged["date"] + pd.Timedelta(days=horizon)
    lagged = lagged.rename(columns={"beta_mkt": "_b_lag", "beta_mkt_se": "_se_lag"})
    b = b.merge(lagged, on=["symbol", "date"], how="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        b["z"] = (b["beta_mkt"] - b["_b_lag"]) / np.sqrt(b["beta_mkt_se"] ** 2 + b["_se_lag"] ** 2)
    flag = (b["z"].abs() > z_threshold).to_numpy()
    # An event starts on a flagged day whose previous calendar day (same coin) was not flagged.
    prev_flag = np.zeros_like(flag)
    same = (b["symbol"].to_numpy()[1:] == b["symbol"].to_numpy()[:-1]) & (
        (b["date"].to_numpy()[1:] - b["date"].to_numpy()[:-1]) == np.timedelta64(1, "D"))
    prev_flag[1:] = flag[:-1] & same
    b["_event"] = flag & ~prev_flag

    last = b.groupby("symbol")["date"].transform("max")
    b["_recent"] = b["date"] > last - pd.Timedelta(days=recent_days)
    g = b.groupby("symbol", sort=True)
    out = pd.DataFrame({
        "first_date": g["date"].min(),
        "last_date": g["date"].max(),
        "n_estimates": g.size().astype(np.int64),
        "beta_mkt_mean": g["beta_mkt"].mean(),
        "beta_mkt_sd": g["beta_mkt"].std(ddof=1),
        "beta_mkt_last": g["beta_mkt"].last(),
        "r2_longrun": g["r2"].mean(),
        "r2_recent": b.loc[b["_recent"]].groupby("symbol")["r2"].mean(),
        "max_abs_z": g["z"].apply(lambda s: s.abs().max()),
        "n_shifts": g["_event"].sum().astype(np.int64),
        "se_type": g["_se_type"].agg(lambda v: ",".join(sorted(set(v)))),
    })
    with np.errstate(invalid="ignore", divide="ignore"):
        out["beta_cv"] = out["beta_mkt_sd"] / out["beta_mkt_mean"].abs()
    out["r2_decay"] = out["r2_recent"] - out["r2_longrun"]
    events = b.loc[b["_event"], ["symbol", "date"]]
    by_coin: dict[str, list[str]] = {}
    for sym, day in zip(events["symbol"], events["date"], strict=True):
        by_coin.setdefault(sym, []).append(day.strftime("%Y-%m-%d"))
    out["shift_dates"] = [",".join(by_coin.get(sym, [])) for sym in out.index]
    out["last_shift_date"] = events.groupby("symbol")["date"].max().reindex(out.index)
    out["horizon_days"] = np.int64(horizon)
    out["z_threshold"] = float(z_threshold)
    out["recent_days"] = np.int64(recent_days)
    return out.reset_index().rename(columns={"index": "symbol"})[list(REGIME_COLUMNS)]


REGIME_COLUMNS: tuple[str, ...] = (
    "symbol", "first_date", "last_date", "n_estimates", "beta_mkt_mean", "beta_mkt_sd", "beta_cv",
    "beta_mkt_last", "r2_longrun", "r2_recent", "r2_decay", "max_abs_z", "n_shifts", "last_shift_date",
    "shift_dates", "horizon_days", "z_threshold", "recent_days", "se_type",
)


def _empty_regime() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in REGIME_COLUMNS})
