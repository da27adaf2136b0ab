"""Out-of-sample validation of covariance forecasts: the factor risk model against the sample covariance,
its Ledoit-Wolf shrinkage and a RiskMetrics EWMA, each forecast from data up to week t-1 only and scored
on the realised returns of week t (no Dagster).

Forecasts (``forecast_covariances``), as of the ``origin`` = the Sunday that ends week t-1
----------------------------------------------------------------------------------------------
Window: the days in ``(origin - window_days, origin]`` on which every factor is defined (the factor
risk model's and the rolling betas' window, ``window_days`` = 90 by default); cross-section: the coins
with a daily excess return on every one of those days (``compute.compute_risk_model``'s "complete"
coins). Coins with gaps in the window (late listings, outages) are left out of that week for every
method alike, so there is no pairwise-complete or filled estimate: each method sees the same (T x N)
block ``R`` of daily excess returns (simple return minus the daily risk-free rate). Daily forecasts are
scaled by ``horizon_days`` = 7 (square-root-of-time: serially uncorrelated daily returns) to the
covariance of week t's return, taken as the sum of the coin's 7 daily excess returns (Monday to
Sunday; coins missing a day of week t are not scored that week).

* ``factor``: ``Sigma = B Omega_f B' + diag(d)`` exactly as ``risk_model`` builds it: per-coin OLS
  with intercept on the daily factors over the window (``risk_model.fit_time_series``: the rolling
  betas of the origin day), the factors being those of the rolling betas (``config.factors``, default
  MKT, SIZE, MOM, VOL, FUND, CHAIN; VOL, FUND or CHAIN left out when it has no value in the days the
  origin week's rolling regressions read, exactly the rule of ``compute_daily.compute_rolling_betas``),
  ``Omega_f`` = sample covariance of the factors over the same days,
  ``d`` = residual variances SSR / (T - ddof) (``risk_model.factor_risk_model``). By the exactness of
  ``risk_model.check_reproduction`` its diagonal equals the sample variances: per-coin variance
  forecasts of ``factor`` and ``sample`` are identical; they differ only off the diagonal (portfolios,
  the joint likelihood).
* ``sample``: ``S = R_c' R_c / (T - ddof)`` (``R_c`` demeaned); singular when N >= T.
* ``shrunk``: Ledoit & Wolf (2004, J. Multivariate Anal. 88) towards the scaled identity:
  ``(1 - delta) S + delta (tr S / N) I`` with sklearn's ``LedoitWolf`` intensity ``delta`` (its
  ``shrinkage_``; sklearn's covariance is this one times (T - ddof) / T).
* ``ewma``: RiskMetrics (J.P. Morgan / Reuters 1996) on DAILY returns, zero mean,
  ``sum_k w_k r_{o-k} r_{o-k}'`` with ``w_k`` proportional to ``lambda^k`` (k = 0 the origin day),
  ``lambda`` = 0.94, the weights renormalised to sum to one over the window's days (the infinite
  recursion's mass beyond 90 days, lambda^90 = 0.4 %, is spread over the window, not dropped).

Evaluation on week t (``evaluate_week``; every statistic uses forecasts from the origin only)
----------------------------------------------------------------------------------------------
* Portfolios, weights known at the origin, over the week's scored coins: ``equal_weight``; ``size_ls``
  (equal-weighted long the ``leg_share`` = 30 % smallest market caps of the origin day, short the 30 %
  largest: the LTW size long-short); ``momentum_ls`` (long the 30 % highest, short the 30 % lowest sum
  of daily excess returns over the last ``momentum_days`` = 21 days: LTW's three-week momentum);
  ``random_long`` (``n_random`` fixed random long-only portfolios: one Exp(1) draw per coin and
  portfolio, seeded by the coin's symbol, renormalised to the week's coins) and ``random_ls`` (fixed
  random dollar-neutral portfolios: one N(0, 1) draw per coin, demeaned over the week's coins, gross
  2); ``min_variance``, the global minimum-variance portfolio ``Sigma^-1 1 / 1' Sigma^-1 1`` of each
  method's own forecast: Engle & Colacito (2006, JBES 24(2), "Testing and valuing dynamic
  correlations for asset allocation") rank covariance forecasts by the realised variance of the
  portfolios optimised on them (the true covariance minimises it), and an optimised portfolio shows
  the under-prediction of risk a noisy covariance causes.
* Standardised return ``z = r_p / sigma_p``, ``sigma_p = sqrt(w' Sigma w)``. The **bias statistic**
  (Barra: Menchero, Orr & Wang 2011, "The Barra US Equity Model (USE4) Methodology Notes", MSCI) is
  ``b = sd(z)`` over the weeks (ddof 1) of one portfolio: 1 for a calibrated forecast, > 1 risk
  under-predicted; for normal z its approximate 95 % band is ``1 +- sqrt(2 / T)``.
* ``qlike = z^2 - ln z^2 - 1`` (Patton 2011, J. Econometrics 160: robust to the noise of r^2 as a
  variance proxy; 0 when r^2 = sigma^2); Menchero, Morozov & Pasqua's (2013, "Predicting Risk at Short
  Horizons", MSCI) Q-statistic ``z^2 - ln z^2`` is QLIKE + 1. ``r = 0`` exactly is left out. For a
  calibrated normal forecast E[QLIKE] = -E[ln chi2_1] = ln 2 + Euler's gamma = 1.27, not 0: compare
  methods with it, not with 0.
* Cross-section of week t (the realised vector ``r`` of the n scored coins): Gaussian log-likelihood
  per coin ``-(n ln 2 pi + ln det Sigma + r' Sigma^-1 r) / (2 n)`` and ``q_stat = r' Sigma^-1 r / n``
  (the multivariate bias statistic's square: mean 1 for a calibrated forecast); both NaN when Sigma
  is not positive definite (``sample`` with n >= T). Per-coin variance errors: mean of ``r_i^2 -
  sigma_ii`` and of the coins' QLIKE. ``cs_r2``: R² of the OLS of ``r`` on ``[1, B]`` with the
  factor model's betas of the origin (known at t-1; ``diagnostics.cross_sectional_r2`` uses
  full-sample betas).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cryptofactor_assets.factors.compute_daily import (
    DEFAULT_BETA_FACTORS,
    FACTOR_NAMES,
    ROLLING_MIN_OBS,
    ROLLING_WINDOW_DAYS,
    SIGNAL_FACTOR_NAMES,
    check_beta_factors,
)
from cryptofactor_assets.prediction.risk_model import factor_risk_model, fit_time_series

METHODS = ("factor", "sample", "shrunk", "ewma")
#: The RiskMetrics decay of daily data (J.P. Morgan / Reuters, RiskMetrics Technical Document, 1996).
RISKMETRICS_LAMBDA = 0.94
PORTFOLIO_TYPES = ("equal_weight", "size_ls", "momentum_ls", "random_long", "random_ls", "min_variance")
LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class ValidationConfig:
    """Parameters of the validation (the asset's run config carries the same fields)."""

    window_days: int = ROLLING_WINDOW_DAYS  # calendar days of the estimation window (the rolling betas')
    min_window_days: int = ROLLING_MIN_OBS  # factor days the window needs (the rolling betas' min_obs)
    ddof: int = 1
    ewma_lambda: float = RISKMETRICS_LAMBDA
    horizon_days: int = 7  # days of the forecast (daily covariance x 7 = the week's)
    momentum_days: int = 21
    leg_share: float = 0.3
    n_random: int = 20
    seed: int = 16
    min_coin_weeks: int = 13  # weeks a coin needs for its own bias statistic
    factors: tuple[str, ...] = DEFAULT_BETA_FACTORS  # the factor model's daily factors (the rolling betas')


# ----------------------------------------------------------------------------------------- estimators
def ledoit_wolf_shrinkage(X: np.ndarray) -> float:
    """Ledoit-Wolf (2004) intensity towards ``mu I`` of the (T, N) sample ``X`` (demeaned inside), the
    formula of sklearn's ``ledoit_wolf_shrinkage`` (its ``LedoitWolf().shrinkage_``)."""
    X = np.asarray(X, dtype=float)
    X = X - X.mean(axis=0)
    n, p = X.shape
    X2 = X ** 2
    emp_trace = X2.sum(axis=0) / n
    mu = emp_trace.sum() / p
    beta_ = float(np.sum(X2.T @ X2))
    delta_ = float(np.sum((X.T @ X) ** 2)) / n ** 2
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * emp_trace.sum() + p * mu ** 2) / p
    beta = min(beta, delta)
    return 0.0 if beta == 0 else float(beta / delta)


def shrunk_covariance(X: np.ndarray, ddof: int = 1) -> tuple[np.ndarray, float]:
    """``((1 - delta) S + delta (tr S / N) I, delta)`` with ``S`` the sample covariance (``ddof``)."""
    S = np.atleast_2d(np.cov(X, rowvar=False, ddof=ddof))
    delta = ledoit_wolf_shrinkage(X)
    return (1 - delta) * S + delta * np.trace(S) / S.shape[0] * np.eye(S.shape[0]), delta


def ewma_covariance(X: np.ndarray, lam: float = RISKMETRICS_LAMBDA) -> np.ndarray:
    """Zero-mean EWMA covariance of the (T, N) rows ``X`` (last row = the newest, weight ``lambda^0``),
    weights ``lambda^k`` normalised to sum to one over the T rows."""
    X = np.asarray(X, dtype=float)
    w = lam ** np.arange(len(X))[::-1]
    w = w / w.sum()
    return (X * w[:, None]).T @ X


# ------------------------------------------------------------------------------------------ forecasts
@dataclass(frozen=True)
class WeekForecast:
    """The covariance forecasts of one origin (already scaled to ``horizon_days``)."""

    origin: pd.Timestamp
    symbols: tuple[str, ...]
    n_days: int  # factor days in the window
    covariances: dict[str, np.ndarray]  # method -> (N, N)
    betas: np.ndarray  # (N, K) the factor model's loadings
    shrinkage: float  # Ledoit-Wolf intensity of ``shrunk``
    momentum: np.ndarray  # (N,) sum of daily excess returns over the last ``momentum_days``
    factors: tuple[str, ...] = FACTOR_NAMES  # the K daily factors of the factor model


def forecast_covariances(returns: pd.DataFrame, factors: pd.DataFrame, origin,
                         config: ValidationConfig = ValidationConfig()) -> WeekForecast | None:
    """Every method's covariance of the next ``horizon_days`` from the daily excess ``returns`` (wide:
    days x coins) and ``factors`` (days x K) in ``(origin - window_days, origin]`` only; None when the
    window has fewer than ``min_window_days`` factor days or fewer than 2 complete coins. Every column
    of ``factors`` enters but VOL, FUND and CHAIN, which enter unless the origin week's rolling
    regressions read no value of them (module docstring)."""
    origin = pd.Timestamp(origin)
    # the factors the origin week's rolling regressions use: every column, but VOL, FUND and CHAIN only
    # with a value in [origin - 6 - (window - 1), origin] (compute_daily.compute_rolling_betas' rule)
    read = factors[(factors.index >= origin - pd.Timedelta(days=6 + config.window_days - 1))
                   & (factors.index <= origin)]
    names = [c for c in factors.columns
             if c not in SIGNAL_FACTOR_NAMES or np.isfinite(read[c].to_numpy(dtype=float)).any()]
    f = factors.loc[(factors.index > origin - pd.Timedelta(days=config.window_days)) & (factors.index <= origin),
                    names]
    f = f[np.isfinite(f.to_numpy(dtype=float)).all(axis=1)].sort_index()
    k = f.shape[1]
    if len(f) < max(config.min_window_days, k + 2):
        return None
    block = returns.reindex(f.index)
    complete = np.isfinite(block.to_numpy(dtype=float)).all(axis=0)
    if complete.sum() < 2:
        return None
    R = block.loc[:, complete].to_numpy(dtype=float)
    F = f.to_numpy(dtype=float)
    symbols = tuple(block.columns[complete])
    fit = fit_time_series(R, F, config.ddof)
    model = factor_risk_model(fit.betas, fit.factor_cov, fit.resid_var, symbols, tuple(f.columns))
    if model.symbols != symbols:  # a coin without a finite beta (cannot happen on a complete block)
        raise ValueError("factor model dropped coins of a complete window")
    h = float(config.horizon_days)
    shrunk, delta = shrunk_covariance(R, config.ddof)
    covs = {"factor": h * model.covariance, "sample": h * np.atleast_2d(np.cov(R, rowvar=False, ddof=config.ddof)),
            "shrunk": h * shrunk, "ewma": h * ewma_covariance(R, config.ewma_lambda)}
    recent = f.index > origin - pd.Timedelta(days=config.momentum_days)
    return WeekForecast(origin, symbols, len(f), covs, fit.betas, delta, R[recent].sum(axis=0), tuple(names))


def realised_week_returns(returns: pd.DataFrame, week_start, horizon_days: int = 7) -> pd.Series:
    """Sum of each coin's daily excess returns over the ``horizon_days`` days from ``week_start``
    (coins with a return on every one of them)."""
    days = pd.date_range(pd.Timestamp(week_start), periods=horizon_days, freq="D")
    block = returns.reindex(days)
    ok = np.isfinite(block.to_numpy(dtype=float)).all(axis=0)
    return block.loc[:, ok].sum(axis=0)


# ----------------------------------------------------------------------------------------- portfolios
def _symbol_draws(symbols: Sequence[str], seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(Exp(1), N(0, 1)) draws (len(symbols), n), fixed per symbol (seeded by seed and the symbol's
    CRC-32): a coin keeps its random weights whichever other coins are in the panel."""
    expo, norm = np.empty((len(symbols), n)), np.empty((len(symbols), n))
    for i, s in enumerate(symbols):
        rng = np.random.default_rng([seed, zlib.crc32(str(s).encode())])
        expo[i], norm[i] = rng.exponential(size=n), rng.standard_normal(n)
    return expo, norm


def _long_short(signal: np.ndarray, share: float) -> np.ndarray | None:
    """Equal-weighted long the top ``share`` of ``signal``, short the bottom (NaN signals out)."""
    ok = np.isfinite(signal)
    k = int(np.floor(share * ok.sum()))
    if k < 1:
        return None
    order = np.flatnonzero(ok)[np.argsort(signal[ok], kind="stable")]
    w = np.zeros(len(signal))
    w[order[-k:]], w[order[:k]] = 1.0 / k, -1.0 / k
    return w


def fixed_portfolios(symbols: Sequence[str], market_cap: np.ndarray | None, momentum: np.ndarray,
                     config: ValidationConfig = ValidationConfig()) -> tuple[list[str], list[str], np.ndarray]:
    """(names, types, weights (P, n)) of the portfolios known at the origin over the coins ``symbols``."""
    n = len(symbols)
    out: list[tuple[str, str, np.ndarray]] = [("equal_weight", "equal_weight", np.full(n, 1.0 / n))]
    if market_cap is not None:
        size = _long_short(-np.asarray(market_cap, dtype=float), config.leg_share)  # long the small coins
        if size is not None:
            out.append(("size_ls", "size_ls", size))
    mom = _long_short(np.asarray(momentum, dtype=float), config.leg_share)
    if mom is not None:
        out.append(("momentum_ls", "momentum_ls", mom))
    if config.n_random:
        expo, norm = _symbol_draws(symbols, config.seed, config.n_random)
        longs = expo / expo.sum(axis=0)
        ls = norm - norm.mean(axis=0)
        gross = np.abs(ls).sum(axis=0)
        ls = np.divide(2 * ls, gross, out=np.zeros_like(ls), where=gross > 0)
        out += [(f"random_long_{j:02d}", "random_long", longs[:, j]) for j in range(config.n_random)]
        out += [(f"random_ls_{j:02d}", "random_ls", ls[:, j]) for j in range(config.n_random)]
    names, types, rows = zip(*out, strict=True)
    return list(names), list(types), np.vstack(rows)


# ----------------------------------------------------------------------------------------- evaluation
def _cholesky(S: np.ndarray) -> np.ndarray | None:
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return None


def _qlike(r2: np.ndarray, s2: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = r2 / s2
        return np.where((r2 > 0) & (s2 > 0), ratio - np.log(ratio) - 1, np.nan)


def gaussian_loglik(S: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """(log-likelihood of ``r`` under N(0, S) per coin, ``r' S^-1 r / n``); NaNs when S is not positive
    definite."""
    L = _cholesky(S)
    n = len(r)
    if L is None:
        return np.nan, np.nan
    y = np.linalg.solve(L, r)
    quad = float(y @ y)
    logdet = 2.0 * float(np.sum(np.log(np.diag(L))))
    return -0.5 * (n * LOG_2PI + logdet + quad) / n, quad / n


def min_variance_weights(S: np.ndarray) -> np.ndarray | None:
    """Global minimum-variance weights ``S^-1 1 / 1' S^-1 1`` (None when S is not positive definite)."""
    L = _cholesky(S)
    if L is None:
        return None
    x = np.linalg.solve(L.T, np.linalg.solve(L, np.ones(len(S))))
    return x / x.sum()


def cross_sectional_r2(r: np.ndarray, betas: np.ndarray) -> float:
    """R² of the OLS of ``r`` on ``[1, betas]`` (NaN with fewer than K + 2 coins)."""
    X = np.column_stack([np.ones(len(r)), betas])
    if len(r) < X.shape[1] + 1:
        return np.nan
    coef, *_ = np.linalg.lstsq(X, r, rcond=None)
    sst = float(np.sum((r - r.mean()) ** 2))
    return 1.0 - float(np.sum((r - X @ coef) ** 2)) / sst if sst > 0 else np.nan


@dataclass(frozen=True)
class WeekEvaluation:
    weeks: pd.DataFrame  # one row per method
    portfolios: pd.DataFrame  # one row per method and portfolio
    coins: pd.DataFrame  # one row per method and coin: pred_var, ret, z


def evaluate_week(forecast: WeekForecast, week_start, realised: pd.Series, market_cap: pd.Series | None = None,
                  config: ValidationConfig = ValidationConfig()) -> WeekEvaluation | None:
    """Score ``forecast`` on week ``week_start``'s realised returns (coins in both; None for < 2)."""
    idx = [i for i, s in enumerate(forecast.symbols) if s in realised.index]
    if len(idx) < 2:
        return None
    syms = [forecast.symbols[i] for i in idx]
    r = realised.reindex(syms).to_numpy(dtype=float)
    caps = None if market_cap is None else market_cap.reindex(syms).to_numpy(dtype=float)
    names, types, W = fixed_portfolios(syms, caps, forecast.momentum[idx], config)
    week = pd.Timestamp(week_start)
    week_rows, port_rows, coin_rows = [], [], []
    sub = np.ix_(idx, idx)
    for method in METHODS:
        S = forecast.covariances[method][sub]
        s2 = np.diag(S).copy()
        ll, q = gaussian_loglik(S, r)
        coin_qlike = _qlike(r ** 2, s2)
        row = {"week_start": week, "method": method, "origin_date": forecast.origin, "n_coins": len(r),
               "n_window_days": forecast.n_days, "loglik": ll, "q_stat": q,
               "qlike": float(np.nanmean(coin_qlike)) if np.isfinite(coin_qlike).any() else np.nan,
               "var_error": float(np.mean(r ** 2 - s2)), "mean_pred_var": float(np.mean(s2)),
               "mean_sq_ret": float(np.mean(r ** 2)),
               "shrinkage": forecast.shrinkage if method == "shrunk" else np.nan,
               "cs_r2": cross_sectional_r2(r, forecast.betas[idx]) if method == "factor" else np.nan}
        week_rows.append(row)
        Wm, nm, tm = W, names, types
        mv = min_variance_weights(S)
        if mv is not None:
            Wm, nm, tm = np.vstack([W, mv]), [*names, "min_variance"], [*types, "min_variance"]
        var_p = np.einsum("pi,ij,pj->p", Wm, S, Wm)
        sig = np.sqrt(np.maximum(var_p, 0.0))
        ret_p = Wm @ r
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(sig > 0, ret_p / sig, np.nan)
        port_rows.append(pd.DataFrame({"week_start": week, "method": method, "portfolio": nm, "portfolio_type": tm,
                                       "n_coins": (np.abs(Wm) > 0).sum(axis=1), "sigma_pred": sig, "ret": ret_p,
                                       "z": z}))
        with np.errstate(divide="ignore", invalid="ignore"):
            coin_rows.append(pd.DataFrame({"week_start": week, "method": method, "symbol": syms, "pred_var": s2,
                                           "ret": r, "z": np.where(s2 > 0, r / np.sqrt(s2), np.nan)}))
    return WeekEvaluation(pd.DataFrame(week_rows), pd.concat(port_rows, ignore_index=True),
                          pd.concat(coin_rows, ignore_index=True))


@dataclass
class RiskValidation:
    """Per (week, method) cross-section statistics, per (week, method, portfolio) standardised returns,
    per (week, method, coin) ones, and the forecasts (origin -> ``WeekForecast``)."""

    weeks: pd.DataFrame
    portfolios: pd.DataFrame
    coins: pd.DataFrame
    forecasts: dict = field(default_factory=dict)


def validation_weeks(returns: pd.DataFrame, horizon_days: int = 7) -> pd.DatetimeIndex:
    """The Mondays whose ``horizon_days`` days all lie inside the returns' index range."""
    if returns.empty:
        return pd.DatetimeIndex([])
    lo, hi = returns.index.min(), returns.index.max()
    weeks = pd.date_range(lo, hi, freq="W-MON")
    return weeks[weeks + pd.Timedelta(days=horizon_days - 1) <= hi]


def validate(returns: pd.DataFrame, factors: pd.DataFrame, market_cap: pd.DataFrame | None = None,
             weeks: pd.DatetimeIndex | None = None, config: ValidationConfig = ValidationConfig()) -> RiskValidation:
    """Forecast at each week's origin (the day before its Monday) and score on the week.

    ``returns`` / ``market_cap``: wide daily frames (days x coins), ``factors``: days x K (NaN = not a
    factor day); ``weeks``: Mondays (default ``validation_weeks``). Weeks without a forecast or with
    fewer than 2 scored coins are skipped."""
    returns = returns.sort_index()
    weeks = validation_weeks(returns, config.horizon_days) if weeks is None else pd.DatetimeIndex(weeks)
    parts: dict[str, list[pd.DataFrame]] = {"weeks": [], "portfolios": [], "coins": []}
    forecasts = {}
    for week in weeks:
        origin = week - pd.Timedelta(days=1)
        fc = forecast_covariances(returns, factors, origin, config)
        if fc is None:
            continue
        caps = None
        if market_cap is not None:
            lo = origin - pd.Timedelta(days=config.window_days)
            window = market_cap[(market_cap.index > lo) & (market_cap.index <= origin)]
            caps = window.ffill().iloc[-1] if len(window) else None
        ev = evaluate_week(fc, week, realised_week_returns(returns, week, config.horizon_days), caps, config)
        if ev is None:
            continue
        forecasts[origin] = fc
        for name in parts:
            parts[name].append(getattr(ev, name))
    tables = {name: pd.concat(p, ignore_index=True) if p else pd.DataFrame() for name, p in parts.items()}
    return RiskValidation(**tables, forecasts=forecasts)


# ---------------------------------------------------------------------------------------- statistics
def bias_statistic(ret: np.ndarray, sigma: np.ndarray) -> tuple[float, float]:
    """(``b = sd(r / sigma)`` with ddof 1 over the finite periods, the band half-width
    ``sqrt(2 / T)``); NaN with fewer than 2 periods."""
    z = np.asarray(ret, dtype=float) / np.asarray(sigma, dtype=float)
    z = z[np.isfinite(z)]
    if len(z) < 2:
        return np.nan, np.nan
    return float(np.std(z, ddof=1)), float(np.sqrt(2.0 / len(z)))


def bias_statistics(z: pd.DataFrame, min_periods: int = 2) -> pd.DataFrame:
    """Per column of ``z`` (periods x portfolios): n, b = sd (ddof 1), band = sqrt(2 / n), in_band,
    vectorised over the columns; columns with fewer than ``min_periods`` finite values dropped."""
    n = z.notna().sum(axis=0)
    b = z.std(axis=0, ddof=1)
    band = np.sqrt(2.0 / n.where(n > 0))
    out = pd.DataFrame({"n": n, "bias": b, "band": band, "in_band": (b - 1).abs() <= band})
    return out[out["n"] >= max(min_periods, 2)]


def rolling_bias(portfolios: pd.DataFrame, portfolio_type: str, window: int) -> pd.DataFrame:
    """Weeks x methods: the rolling ``window``-week bias statistic, averaged over the portfolios of
    ``portfolio_type`` (their own rolling sd of z)."""
    sub = portfolios[portfolios["portfolio_type"] == portfolio_type]
    if sub.empty:
        return pd.DataFrame()
    z = sub.pivot_table(index="week_start", columns=["method", "portfolio"], values="z")
    roll = z.rolling(window, min_periods=window).std()
    return roll.T.groupby(level="method").mean().T.reindex(columns=[m for m in METHODS if m in set(sub["method"])])


def summarise(result: RiskValidation, config: ValidationConfig = ValidationConfig()) -> pd.DataFrame:
    """Long summary (method, scope, statistic, value, n_obs, detail). Scopes: each portfolio type and
    ``coins`` (each coin a portfolio: its own bias statistic over its weeks, >= ``min_coin_weeks``), and
    ``cross_section`` (means of the weekly log-likelihood, q_stat, per-coin QLIKE and variance error,
    cs_r2, the share of weeks in which the method has the highest log-likelihood)."""
    rows: list[tuple] = []
    if result.weeks.empty:
        return pd.DataFrame(columns=["method", "scope", "statistic", "value", "n_obs", "detail"])

    def scoped(method: str, scope: str, frame: pd.DataFrame, min_periods: int) -> None:
        z = frame.pivot_table(index="week_start", columns="unit", values="z")
        stats = bias_statistics(z, min_periods)
        zz = frame["z"].to_numpy(dtype=float)
        zz = zz[np.isfinite(zz)]
        r2, s2 = frame["ret"].to_numpy(dtype=float) ** 2, frame["var"].to_numpy(dtype=float)
        n_units = len(stats)
        rows.extend([
            (method, scope, "bias_stat", stats["bias"].mean() if n_units else np.nan, n_units,
             "mean over the portfolios of sd(z) over weeks (1 = calibrated)"),
            (method, scope, "bias_band", stats["band"].median() if n_units else np.nan, n_units,
             "sqrt(2 / T), median over the portfolios: 95 % band 1 +- this"),
            (method, scope, "in_band_share", stats["in_band"].mean() if n_units else np.nan, n_units,
             "share of the portfolios with |b - 1| <= sqrt(2 / T)"),
            (method, scope, "mean_z", float(zz.mean()) if len(zz) else np.nan, len(zz), "pooled"),
            (method, scope, "exceed_rate", float(np.mean(np.abs(zz) > 1.96)) if len(zz) else np.nan, len(zz),
             "share of |z| > 1.96 (5 % for calibrated normal returns)"),
            (method, scope, "qlike", float(np.nanmean(_qlike(r2, s2))) if len(zz) else np.nan, len(zz),
             "mean of z^2 - ln z^2 - 1 (Patton 2011); Q-statistic = this + 1"),
            (method, scope, "var_error", float(np.mean(r2 - s2)) if len(zz) else np.nan, len(zz),
             "mean of r^2 - sigma^2 (weekly)"),
            (method, scope, "predicted_vol", float(np.sqrt(np.mean(s2))) if len(zz) else np.nan, len(zz),
             "sqrt(mean sigma^2), weekly"),
            (method, scope, "realised_vol", float(np.sqrt(np.mean(r2))) if len(zz) else np.nan, len(zz),
             "sqrt(mean r^2), weekly"),
        ])

    ports = result.portfolios.assign(unit=result.portfolios["portfolio"], var=result.portfolios["sigma_pred"] ** 2)
    coins = result.coins.assign(unit=result.coins["symbol"], var=result.coins["pred_var"])
    best = result.weeks.pivot(index="week_start", columns="method", values="loglik").dropna(how="all")
    winner = best.idxmax(axis=1) if len(best) else pd.Series(dtype=object)
    for method in [m for m in METHODS if m in set(result.weeks["method"])]:
        for ptype in PORTFOLIO_TYPES:
            sub = ports[(ports["method"] == method) & (ports["portfolio_type"] == ptype)]
            if len(sub):
                scoped(method, ptype, sub, 2)
        scoped(method, "coins", coins[coins["method"] == method], config.min_coin_weeks)
        wk = result.weeks[result.weeks["method"] == method]
        for stat, detail in (("loglik", "mean over weeks of the Gaussian log-likelihood per coin"),
                             ("q_stat", "mean over weeks of r' Sigma^-1 r / n (1 = calibrated)"),
                             ("qlike", "mean over weeks of the coins' mean QLIKE"),
                             ("var_error", "mean over weeks of the coins' mean r^2 - sigma^2"),
                             ("cs_r2", "mean over weeks of the R² of r on [1, betas of t-1]"),
                             ("shrinkage", "mean Ledoit-Wolf intensity")):
            v = wk[stat].dropna()
            if len(v):
                rows.append((method, "cross_section", stat, float(v.mean()), len(v), detail))
        if len(winner):
            rows.append((method, "cross_section", "best_loglik_share", float((winner == method).mean()), len(winner),
                         "share of weeks with the highest log-likelihood of the methods"))
    out = pd.DataFrame(rows, columns=["method", "scope", "statistic", "value", "n_obs", "detail"])
    out["value"] = out["value"].astype(float)
    out["n_obs"] = out["n_obs"].astype(np.int64)
    return out


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per method: the bias statistic of each portfolio type and of the coins, the coins' mean
    QLIKE, the cross-section's log-likelihood and q_stat, the |z| > 1.96 rate of the random
    long-shorts, the min-variance portfolio's realised vol and the best-log-likelihood share."""
    if summary.empty:
        return pd.DataFrame()
    s = summary.set_index(["method", "scope", "statistic"])["value"]
    cols = {f"b_{t}": (t, "bias_stat") for t in (*PORTFOLIO_TYPES, "coins")}
    cols.update({"qlike_coins": ("coins", "qlike"), "loglik": ("cross_section", "loglik"),
                 "q_stat": ("cross_section", "q_stat"), "exceed_random_ls": ("random_ls", "exceed_rate"),
                 "mv_realised_vol": ("min_variance", "realised_vol"),
                 "best_loglik_share": ("cross_section", "best_loglik_share")})
    methods = [m for m in METHODS if m in set(summary["method"])]
    return pd.DataFrame([{"method": m, **{c: s.get((m, *k), np.nan) for c, k in cols.items()}} for m in methods])


# ------------------------------------------------------------------------------------------- tables
def compare_with_stored(result: RiskValidation, stored: pd.DataFrame, config: ValidationConfig) -> pd.DataFrame:
    """Per origin: the largest |beta - stored beta| and |sigma_ii / horizon / total_var - 1| over the coins
    the factor forecast shares with ``factor_risk_model``'s row of the origin's week (week_start =
    origin - 6 days, same ``window_days``). Columns week_start (the validated week), the two maxima."""
    rows = []
    if stored is None or stored.empty:
        return pd.DataFrame(columns=["week_start", "max_abs_beta_diff_stored", "max_rel_var_diff_stored"])
    same = stored[stored["window_days"] == config.window_days]
    by_week = {w: g.set_index("symbol") for w, g in same.groupby("week_start")}
    for origin, fc in result.forecasts.items():
        g = by_week.get(origin - pd.Timedelta(days=6))
        if g is None:
            continue
        idx = [i for i, s in enumerate(fc.symbols) if s in g.index]
        if not idx:
            continue
        syms = [fc.symbols[i] for i in idx]
        stored_betas = g.loc[syms, [f"beta_{f}" for f in fc.factors]].to_numpy(dtype=float)
        db = np.abs(fc.betas[idx] - stored_betas).max()
        var = np.diag(fc.covariances["factor"])[idx] / config.horizon_days
        dv = np.abs(var / g.loc[syms, "total_var"].to_numpy(dtype=float) - 1).max()
        rows.append({"week_start": origin + pd.Timedelta(days=1), "max_abs_beta_diff_stored": float(db),
                     "max_rel_var_diff_stored": float(dv)})
    return pd.DataFrame(rows, columns=["week_start", "max_abs_beta_diff_stored", "max_rel_var_diff_stored"])


def wide_inputs(daily: pd.DataFrame, factors: pd.DataFrame, factor_names: Sequence[str]
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(excess returns, market caps: days x coins on the complete calendar of ``daily``; factors:
    days x K) from the long ``daily`` (symbol, date, excess_ret, market_cap) and ``factors`` (date, ...)."""
    from cryptofactor_assets.estimators import panels

    days = panels.day_range(daily["date"].min(), daily["date"].max() + pd.Timedelta(days=1))
    ret = panels.pivot_panel(daily, "excess_ret", index=days)
    caps = panels.pivot_panel(daily, "market_cap", index=days, symbols=list(ret.columns))
    f = factors.assign(date=pd.to_datetime(factors["date"])).set_index("date")[list(factor_names)].astype(float)
    return ret, caps, f.reindex(days)


def compute_risk_validation(daily: pd.DataFrame, factors: pd.DataFrame, stored: pd.DataFrame | None,
                            config: ValidationConfig, factor_names: Sequence[str] | None = None
                            ) -> tuple[RiskValidation, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The stored tables from the long inputs: (result, per week x method table with the run's
    parameters and the stored-model comparison on the factor rows, portfolios table, summary).
    ``factor_names`` (default ``config.factors``) are the candidate daily factors; each week's model uses
    those of them the origin week's rolling betas would (see :func:`forecast_covariances`)."""
    if daily.empty or factors.empty:
        empty = RiskValidation(pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
        return empty, pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    names = [c for c in check_beta_factors(config.factors if factor_names is None else factor_names)
             if c in factors.columns]
    ret, caps, f = wide_inputs(daily, factors, names)
    result = validate(ret, f, caps, config=config)
    if result.weeks.empty:
        return result, pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    cmp_ = compare_with_stored(result, stored, config).assign(method="factor")
    weeks = result.weeks.assign(max_abs_beta_diff_stored=np.nan, max_rel_var_diff_stored=np.nan)
    if len(cmp_):
        weeks = result.weeks.merge(cmp_, on=["week_start", "method"], how="left")
    weeks = weeks.assign(
        window_days=config.window_days, horizon_days=config.horizon_days, ewma_lambda=config.ewma_lambda,
        ddof=config.ddof)
    used = {o + pd.Timedelta(days=1): ",".join(fc.factors) for o, fc in result.forecasts.items()}
    weeks["factors"] = weeks["week_start"].map(used)
    return result, weeks, result.portfolios, summarise(result, config)
