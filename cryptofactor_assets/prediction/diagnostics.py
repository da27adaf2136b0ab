"""Factor-model diagnostics: per-coin time-series fits, per-period cross-sectional R^2, residual tests,
rolling-window and regime-based validation.

Panels are wide frames (index = period, columns = symbols, NaN = coin not trading) aligned with a factor
frame (index = period, columns e.g. ``cmkt, csmb, cmom``). All coins are fitted at once from masked
normal equations: for coin i, ``G_i = sum_{t observed} x_t x_t'`` with ``x_t = [1, f_t]`` and
``h_i = sum x_t r_ti`` (einsum over the mask), so gaps are skipped exactly, never filled.

Definitions
* time-series R^2 (per coin): ``1 - SSE / sum (r - rbar)^2`` over the coin's own observed weeks;
  alpha and loading t-stats use standard errors of type ``se_type`` (stored with the lags):
  ``hac`` (default) Newey-West ``G^-1 S G^-1`` with Bartlett weights and the lag rule applied to the
  coin's number of weeks (statsmodels ``cov_type="HAC", use_correction=False``), ``white`` HC0,
  ``hc1``, ``hc3`` (as ``estimators.rolling_ols``), ``classical`` ``sqrt(s^2 (X'X)^-1)``,
  ``s^2 = SSE / (n - K - 1)``.  A week the coin misses has a
  zero score: lag j pairs weeks j calendar weeks apart (as ``estimators.rolling_ols``).
* the cross-sectional mean alpha and its t-statistic: ``abar`` = mean of the fitted coins' alphas;
  its standard error treats the coins' estimation errors as what they are, correlated through
  common shocks: ``abar - alpha = sum_t psi_t`` with ``psi_t = N^-1 sum_i [G_i^-1 x_t]_0 e_ti``
  (each week's influence on the average alpha), and ``Var(abar)`` = the Newey-West long-run sum of
  ``psi_t`` (a Driscoll-Kraay-type covariance, lag rule on the number of weeks).  On a balanced
  panel this is exactly the Newey-West t of the equal-weighted portfolio's alpha; a mean of the
  coins' t-statistics has no such meaning, and ``mean / (sd / sqrt(N))`` across coins ignores the
  correlation of the errors.
* cross-sectional R^2 (per period): OLS of the period's returns on ``[1, beta_i]`` over observed coins.
* residual tests (statsmodels): Ljung-Box Q at ``lags`` (``acorr_ljungbox``), Engle's ARCH-LM
  (``het_arch``, ``nlags = lags``), Breusch-Pagan LM against the factors (``het_breuschpagan``),
  Jarque-Bera (``jarque_bera``).
* rolling validation: betas and alpha fitted on ``window`` periods, then the model's fit of the next
  ``horizon`` periods using the realised factors, ``R2_oos = 1 - sum (r - a - f'b)^2 / sum (r - rbar_train)^2``
  pooled over coins: does the factor structure estimated in the past describe the future?
* regimes from the market factor, labels at t from data up to t - 1 only (usable for prediction):
  ``bull`` when the trailing ``lookback``-week sum of CMKT through t - 1 is > 0, else ``bear``;
  ``high_vol`` when the trailing ``lookback``-week sd of CMKT through t - 1 exceeds the median of that
  sd over all earlier weeks (expanding, also past-only). Weeks without enough history are ``unknown``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.hac import LagRule, long_run_covariance, nw_lag

#: Standard errors of the per-coin time-series fits: Newey-West by default (weekly alphas over the
#: whole history, as the long-short alphas: serial correlation matters there), White HC0, HC1, HC3
#: or classical; the Newey-West lag rule is applied per coin.
TS_SE_TYPES = ("classical", "white", "hc1", "hc3", "hac")
TS_SE_TYPE = "hac"
TS_LAG_RULE: LagRule = "4t100"


def _masked_system(R: np.ndarray, X: np.ndarray, tmask: np.ndarray | None = None):
    """Per-coin normal equations over observed (and ``tmask``-selected) periods.

    Returns n (N,), G (N, q, q), h (N, q), sum r (N,), sum r^2 (N,)."""
    M = ~np.isnan(R)
    if tmask is not None:
        M &= tmask[:, None]
    Mf = M.astype(float)
    R0 = np.where(M, R, 0.0)
    G = np.einsum("tn,tk,tl->nkl", Mf, X, X)
    h = np.einsum("tn,tk->nk", R0, X)
    return Mf.sum(axis=0), G, h, R0.sum(axis=0), (R0 ** 2).sum(axis=0)


def _solve(G: np.ndarray, h: np.ndarray, ok: np.ndarray) -> np.ndarray:
    coef = np.full(h.shape, np.nan)
    if ok.any():
        coef[ok] = np.linalg.solve(G[ok], h[ok][:, :, None])[:, :, 0]
    return coef


@dataclass(frozen=True)
class TimeSeriesFit:
    table: pd.DataFrame  # per coin: n_obs, alpha, beta_*, t_alpha, t_beta_*, r2, resid_var, se_type, nw_lags,
    #                      and the cross-sectional mean alpha's mean_alpha, mean_alpha_se, mean_alpha_t,
    #                      mean_alpha_lags, n_alpha_coins (the same on every row)
    residuals: pd.DataFrame  # (T, N), NaN where the coin has no return


def _coin_lags(n: np.ndarray, se_type: str, lag_rule: LagRule) -> np.ndarray:
    """Newey-West lags per coin (0 for White and classical)."""
    if se_type != "hac":
        return np.zeros(n.shape, dtype=np.int64)
    return np.array([nw_lag(int(k), lag_rule) if k > 0 else 0 for k in n], dtype=np.int64)


def _hac_meat(E0: np.ndarray, X: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Per coin ``sum_t e_t^2 x_t x_t' + sum_j w_j sum_t e_t e_{t-j} (x_t x_{t-j}' + x_{t-j} x_t')``
    with the coin's own Bartlett weights (``lags`` (N,), 0 = White); ``E0`` has 0 where unobserved."""
    meat = np.einsum("tn,tk,tl->nkl", E0 * E0, X, X)
    for j in range(1, int(lags.max(initial=0)) + 1):
        w = np.where(lags >= j, 1.0 - j / (lags + 1.0), 0.0)
        g = np.einsum("tn,tk,tl->nkl", E0[j:] * E0[:-j], X[j:], X[:-j])
        meat += w[:, None, None] * (g + g.transpose(0, 2, 1))
    return meat


def _mean_alpha(E0: np.ndarray, X: np.ndarray, inv: np.ndarray, coef: np.ndarray, ok: np.ndarray,
                lag_rule: LagRule) -> dict:
    """The cross-sectional mean alpha of the fitted coins and its Driscoll-Kraay-type Newey-West se
    (module docstring): psi_t = mean_i [G_i^-1 x_t]_0 e_ti, Var = long-run sum of psi."""
    nan = {"mean_alpha": np.nan, "mean_alpha_se": np.nan, "mean_alpha_t": np.nan, "mean_alpha_lags": pd.NA,
           "n_alpha_coins": int(ok.sum())}
    if not ok.any():
        return nan
    weight = np.einsum("nk,tk->tn", inv[ok, 0, :], X)  # [G_i^-1 x_t]_0 for every week and fitted coin
    psi = (weight * E0[:, ok]).mean(axis=1)
    lags = nw_lag(len(psi), lag_rule)
    if lags >= len(psi):
        return nan
    var = float(long_run_covariance(psi, lags)[0, 0])
    mean = float(coef[ok, 0].mean())
    se = float(np.sqrt(var))
    return {"mean_alpha": mean, "mean_alpha_se": se, "mean_alpha_t": mean / se if se > 0 else np.nan,
            "mean_alpha_lags": lags, "n_alpha_coins": int(ok.sum())}


def time_series_fit(returns: pd.DataFrame, factors: pd.DataFrame, min_obs: int = 20, se_type: str = TS_SE_TYPE,
                    lag_rule: LagRule = TS_LAG_RULE) -> TimeSeriesFit:
    """OLS of every coin's returns on ``[1, factors]`` over its observed weeks (vectorised), t-stats
    with ``se_type`` errors (``lag_rule``: an int or ``"4t100"`` / ``"t14"`` applied to each coin's
    number of weeks), and the t-statistic of the cross-sectional mean alpha (module docstring)."""
    if se_type not in TS_SE_TYPES:
        raise ValueError(f"se_type must be one of {TS_SE_TYPES}, got {se_type!r}")
    if isinstance(lag_rule, str) and lag_rule == "nw1994":
        raise ValueError("time_series_fit takes a fixed lag rule ('4t100', 't14') or a number of lags")
    idx = returns.index.intersection(factors.index)
    R = returns.loc[idx].to_numpy(dtype=float)
    Fm = factors.loc[idx].to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(idx)), Fm])
    n, G, h, sr, srr = _masked_system(R, X)
    q = X.shape[1]
    ok = n >= max(min_obs, q + 1)
    coef = _solve(G, h, ok)
    E = R - X @ np.nan_to_num(coef).T
    E[np.isnan(R)] = np.nan
    E[:, ~ok] = np.nan
    sse = np.nansum(E ** 2, axis=0)
    sst = srr - sr ** 2 / np.where(n > 0, n, 1)
    s2 = np.where(ok, sse / np.maximum(n - q, 1), np.nan)
    inv = np.full(G.shape, np.nan)
    if ok.any():
        inv[ok] = np.linalg.inv(G[ok])
    E0 = np.nan_to_num(E)
    lags = _coin_lags(np.where(ok, n, 0), se_type, lag_rule)
    if se_type == "classical":
        se = np.sqrt(s2[:, None] * np.diagonal(inv, axis1=1, axis2=2))
    else:
        scores = E0
        if se_type == "hc3":  # e / (1 - h), h_t = x_t' G^-1 x_t the week's leverage for the coin
            lev = np.einsum("tk,nkl,tl->tn", X, np.nan_to_num(inv), X) * (E0 != 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                scores = E0 / (1.0 - lev)
        cov = inv @ _hac_meat(scores, X, lags) @ inv
        if se_type == "hc1":
            cov *= (n / np.maximum(n - q, 1))[:, None, None]
        se = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
        se[~ok] = np.nan
    names = list(factors.columns)
    tab = pd.DataFrame({"symbol": list(returns.columns), "n_obs": n.astype(int), "alpha": coef[:, 0]})
    for j, f in enumerate(names):
        tab[f"beta_{f}"] = coef[:, j + 1]
    tab["t_alpha"] = coef[:, 0] / se[:, 0]
    for j, f in enumerate(names):
        tab[f"t_beta_{f}"] = coef[:, j + 1] / se[:, j + 1]
    tab["r2"] = np.where(ok, 1 - sse / sst, np.nan)
    tab["resid_var"] = s2
    tab["se_type"] = se_type
    tab["nw_lags"] = pd.Series(lags, dtype="Int64").where(ok & (se_type != "classical"))
    mean_alpha = _mean_alpha(E0, X, inv, coef, ok, lag_rule)
    for key, value in mean_alpha.items():
        tab[key] = pd.Series([value] * len(tab), dtype="Int64" if key.endswith(("lags", "coins")) else float)
    return TimeSeriesFit(tab, pd.DataFrame(E, index=idx, columns=returns.columns))


def cross_sectional_r2(returns: pd.DataFrame, betas: pd.DataFrame, min_coins: int | None = None) -> pd.DataFrame:
    """Per period: OLS of the cross-section of returns on ``[1, betas]`` (``betas`` indexed by symbol),
    batched over periods. Columns: ``n_coins``, ``r2``, ``gamma_0``, ``gamma_<factor>``."""
    syms = returns.columns.intersection(betas.index)
    R = returns[syms].to_numpy(dtype=float)
    B = betas.loc[syms].to_numpy(dtype=float)
    Z = np.column_stack([np.ones(len(syms)), B])  # (N, q)
    q = Z.shape[1]
    # same masked normal equations with the roles of time and coins swapped
    n, G, h, sr, srr = _masked_system(R.T, Z)
    ok = n >= (min_coins or q + 2)
    g = _solve(G, h, ok)
    fitted = np.einsum("tq,nq->tn", np.nan_to_num(g), Z)
    resid = np.where(np.isnan(R), 0.0, R - fitted)
    sse = (resid ** 2).sum(axis=1)
    sst = srr - sr ** 2 / np.where(n > 0, n, 1)
    out = pd.DataFrame({"n_coins": n.astype(int), "r2": np.where(ok, 1 - sse / sst, np.nan)}, index=returns.index)
    out["gamma_0"] = g[:, 0]
    for j, f in enumerate(betas.columns):
        out[f"gamma_{f}"] = g[:, j + 1]
    return out


def residual_tests(residuals: pd.DataFrame, factors: pd.DataFrame, lags: int = 4,
                   min_obs: int = 30) -> pd.DataFrame:
    """statsmodels residual tests per coin (observed weeks only). Loops over coins: each test is one
    statsmodels call on one series, the oracle implementation itself."""
    # statsmodels on first use: it pulls scipy.stats, which the code location need not import
    from statsmodels.stats.diagnostic import acorr_ljungbox, het_arch, het_breuschpagan
    from statsmodels.stats.stattools import jarque_bera

    rows = []
    for sym in residuals.columns:
        e = residuals[sym].dropna()
        if len(e) < min_obs:
            continue
        x = e.to_numpy()
        lb = acorr_ljungbox(x, lags=[lags], return_df=True)
        arch = het_arch(x, nlags=lags)
        exog = np.column_stack([np.ones(len(e)), factors.loc[e.index].to_numpy(dtype=float)])
        bp = het_breuschpagan(x, exog)
        jb = jarque_bera(x)
        rows.append({"symbol": sym, "n_obs": len(e), "ljung_box": float(lb["lb_stat"].iloc[0]),
                     "ljung_box_p": float(lb["lb_pvalue"].iloc[0]), "arch_lm": float(arch[0]),
                     "arch_lm_p": float(arch[1]), "breusch_pagan": float(bp[0]), "breusch_pagan_p": float(bp[1]),
                     "jarque_bera": float(jb[0]), "jarque_bera_p": float(jb[1])})
    return pd.DataFrame(rows)


def _oos_r2(R, X, coef, tmask_test, train_mean):
    """Pooled 1 - SSE / SST on the test periods, coins with a fitted model only."""
    fitted = X @ np.nan_to_num(coef).T
    M = ~np.isnan(R) & tmask_test[:, None] & np.isfinite(coef).all(axis=1)[None, :] & np.isfinite(train_mean)[None, :]
    sse = np.sum(np.where(M, (R - fitted) ** 2, 0.0))
    sst = np.sum(np.where(M, (R - train_mean[None, :]) ** 2, 0.0))
    return 1 - sse / sst if sst > 0 else np.nan, int(M.sum())


def rolling_validation(returns: pd.DataFrame, factors: pd.DataFrame, window: int = 52, horizon: int = 13,
                       min_obs: int = 20) -> pd.DataFrame:
    """Fit on ``window`` periods, evaluate on the next ``horizon`` (see the module docstring), stepping
    by ``horizon``. One row per window: train/test dates, coins, in-sample and out-of-sample pooled R^2."""
    idx = returns.index.intersection(factors.index)
    R = returns.loc[idx].to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(idx)), factors.loc[idx].to_numpy(dtype=float)])
    T = len(idx)
    rows = []
    for s in range(0, T - window - horizon + 1, horizon):
        tr = np.zeros(T, bool)
        tr[s:s + window] = True
        te = np.zeros(T, bool)
        te[s + window:s + window + horizon] = True
        n, G, h, sr, _ = _masked_system(R, X, tr)
        ok = n >= max(min_obs, X.shape[1] + 1)
        coef = _solve(G, h, ok)
        mean = np.where(ok, sr / np.maximum(n, 1), np.nan)
        r2_is, _ = _oos_r2(R, X, coef, tr, mean)
        r2_oos, n_te = _oos_r2(R, X, coef, te, mean)
        rows.append({"train_start": idx[s], "train_end": idx[s + window - 1], "test_start": idx[s + window],
                     "test_end": idx[s + window + horizon - 1], "n_coins": int(ok.sum()), "n_test_obs": n_te,
                     "r2_in_sample": r2_is, "r2_out_of_sample": r2_oos})
    return pd.DataFrame(rows)


def regime_labels(cmkt: pd.Series, lookback: int = 12) -> pd.DataFrame:
    """Past-only regime labels (module docstring): ``trailing_ret``, ``trailing_vol``, ``bull``,
    ``high_vol`` and ``regime`` in {bull, bear, unknown}; row t uses CMKT through t - 1."""
    past = cmkt.sort_index().shift(1)
    tr_ret = past.rolling(lookback, min_periods=lookback).sum()
    tr_vol = past.rolling(lookback, min_periods=lookback).std()
    med = tr_vol.expanding().median().shift(1)  # median of the vols known before t
    known = tr_ret.notna()
    out = pd.DataFrame({"trailing_ret": tr_ret, "trailing_vol": tr_vol})
    out["bull"] = (tr_ret > 0) & known
    out["high_vol"] = (tr_vol > med).astype("boolean").mask(med.isna() | tr_vol.isna())  # NA: no history yet
    out["regime"] = np.where(~known, "unknown", np.where(out["bull"], "bull", "bear"))
    return out


def regime_validation(returns: pd.DataFrame, factors: pd.DataFrame, labels: pd.DataFrame,
                      min_obs: int = 20) -> pd.DataFrame:
    """Per regime (bull, bear, high_vol, low_vol): periods, mean factor returns, the factor model's
    pooled R^2 with betas fitted inside the regime, and with betas fitted on the other labelled
    periods (out-of-regime R^2: does the model estimated elsewhere hold in this regime?)."""
    idx = returns.index.intersection(factors.index).intersection(labels.index)
    R = returns.loc[idx].to_numpy(dtype=float)
    Fm = factors.loc[idx]
    X = np.column_stack([np.ones(len(idx)), Fm.to_numpy(dtype=float)])
    lab = labels.loc[idx]
    known = (lab["regime"] != "unknown").to_numpy()
    hv = lab["high_vol"]
    hv_known = hv.notna().to_numpy()
    hvb = hv.fillna(False).astype(bool).to_numpy()
    masks = {"bull": (lab["regime"] == "bull").to_numpy(), "bear": (lab["regime"] == "bear").to_numpy(),
             "high_vol": hv_known & hvb, "low_vol": hv_known & ~hvb}
    universe = {"bull": known, "bear": known, "high_vol": hv_known, "low_vol": hv_known}
    rows = []
    for name, m in masks.items():
        other = universe[name] & ~m
        row = {"regime": name, "n_periods": int(m.sum())}
        for f in Fm.columns:
            row[f"mean_{f}"] = float(Fm[f].to_numpy()[m].mean()) if m.any() else np.nan
        for tag, fit_mask in (("in_regime", m), ("out_of_regime", other)):
            n, G, h, sr, _ = _masked_system(R, X, fit_mask)
            ok = n >= max(min_obs, X.shape[1] + 1)
            coef = _solve(G, h, ok)
            mean = np.where(ok, sr / np.maximum(n, 1), np.nan)
            row[f"r2_{tag}_betas"] = _oos_r2(R, X, coef, m, mean)[0]
        rows.append(row)
    return pd.DataFrame(rows)


def predictions_by_regime(predictions: pd.DataFrame, labels: pd.DataFrame,
                          forecast: str = "forecast", period_col: str = "week_start") -> pd.DataFrame:
    """Walk-forward forecasts split by (past-only) regime: OOS R^2 vs zero / training mean, direction
    accuracy, rows. ``predictions`` as in ``walk_forward.ModelRun.predictions``."""
    df = predictions.merge(labels[["regime"]], left_on=period_col, right_index=True, how="left")
    rows = []
    for reg, g in df.groupby("regime"):
        y, f, b = g["y_next"].to_numpy(), g[forecast].to_numpy(), g["benchmark"].to_numpy()
        rows.append({"regime": reg, "n": len(g), "oos_r2_zero": 1 - np.sum((y - f) ** 2) / np.sum(y ** 2),
                     "oos_r2_mean": 1 - np.sum((y - f) ** 2) / np.sum((y - b) ** 2),
                     "direction_accuracy": float(np.mean((f > 0) == (y > 0)))})
    return pd.DataFrame(rows)


def loading_tstats(fit: TimeSeriesFit, factors: Sequence[str]) -> pd.DataFrame:
    """Tidy per coin x factor: beta, t-stat, |t| > 1.96 flag."""
    t = fit.table
    parts = [pd.DataFrame({"symbol": t["symbol"], "factor": f, "beta": t[f"beta_{f}"], "t": t[f"t_beta_{f}"]})
             for f in factors]
    out = pd.concat(parts, ignore_index=True)
    out["significant_5pct"] = out["t"].abs() > 1.96
    return out
