"""Newey-West (HAC) covariances, lag rules, OLS with HAC inference and the GRS test.

Pure numpy / scipy; no dagster.

Conventions (every result stores the lag it used):

* Bartlett kernel with ``L`` lags: weights ``w_j = 1 - j / (L + 1)``, ``j = 0..L``
  (Newey & West 1987, Econometrica 55(3); statsmodels ``maxlags=L``; linearmodels
  ``bandwidth=L``, both use these weights).
* Lag rules (:func:`nw_lag`): ``"t14"`` = floor(T^(1/4)); ``"4t100"`` = floor(4 (T/100)^(2/9))
  (Newey & West 1994 rule of thumb, the statsmodels/Stata habit); ``"nw1994"`` = the automatic
  Newey & West (1994, REStud 61(4)) bandwidth exactly as linearmodels 7.1
  ``kernel_optimal_bandwidth(x, "bartlett")`` computes it (pilot lags ceil(4 (T/100)^(2/9)),
  c = 1.1447, q = 1, bandwidth = min(ceil(m), T - 1)); it needs a data series.
* :func:`ols_hac` equals statsmodels ``OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": L})``.
  statsmodels' default is ``use_correction=False`` (no n / (n - k) factor) and normal p-values
  (``use_t=False``); Stata ``newey, lag(L)`` uses the n / (n - k) correction and t(n - k)
  p-values, i.e. ``use_correction=True, use_t=True`` here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GRSResult",
    "HACResult",
    "as_columns",
    "bartlett_weights",
    "grs_test",
    "grs_test_from_returns",
    "long_run_covariance",
    "newey_west_cov",
    "newey_west_cov_mean",
    "nw1994_bandwidth",
    "nw_lag",
    "ols_hac",
]

LagRule = int | str

# Constants of the Newey-West (1994) rule for the Bartlett kernel (linearmodels' table).
_NW94_C = 1.1447
_NW94_Q = 1
_NW94_PILOT_EXPONENT = 2.0 / 9.0


def _stats():
    """``scipy.stats``, imported on first use: it costs ~1 s to import, paid by every process that
    loads the code location (each UI run worker) although only p-values need it."""
    from scipy import stats

    return stats


def _floor(v: float) -> int:
    # Guard against 81 ** 0.25 == 2.9999999999999996 style rounding.
    return int(math.floor(v + 1e-9))


def as_columns(a) -> np.ndarray:
    """``a`` as a float array, a 1-d one as a single column (T,) -> (T, 1)."""
    a = np.asarray(a, dtype=float)
    return a[:, None] if a.ndim == 1 else a


def nw1994_bandwidth(series: np.ndarray) -> int:
    r"""Automatic Newey-West (1994) Bartlett bandwidth, as linearmodels computes it.

    With :math:`\hat\sigma_j = T^{-1}\sum_{i>j} x_i x_{i-j}` (no demeaning, as linearmodels),
    ``n = ceil(4 (T/100)^(2/9))`` pilot lags, :math:`s_0 = \hat\sigma_0 + 2\sum_{j\le n}\hat\sigma_j`,
    :math:`s_1 = 2\sum_{j\le n} j\hat\sigma_j`, :math:`m = 1.1447 ((s_1/s_0)^2)^{1/3} T^{1/3}`;
    returns ``min(ceil(m), T - 1)``.  Needs ``T >= 4``.
    """
    x = np.asarray(series, dtype=float).ravel()
    t = x.shape[0]
    n = int(math.ceil(4 * (t / 100) ** _NW94_PILOT_EXPONENT))
    if n >= t - 1:
        raise ValueError(f"the NW-1994 automatic bandwidth needs at least 4 observations, got {t}")
    sigma = np.empty(n + 1)
    sigma[0] = x @ x / t
    for j in range(1, n + 1):  # n is tiny (<= ~10): no hot loop
        sigma[j] = x[j:] @ x[:-j] / t
    s0 = sigma[0] + 2 * sigma[1:].sum()
    sq = 2 * np.sum(sigma[1:] * np.arange(1, n + 1) ** _NW94_Q)
    rate = 1.0 / (2 * _NW94_Q + 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = _NW94_C * ((sq / s0) ** 2) ** rate * t**rate
    if not np.isfinite(m):
        raise ValueError("the NW-1994 automatic bandwidth is not finite (zero long-run variance?)")
    return int(min(math.ceil(m), t - 1))


def nw_lag(t: int, rule: LagRule = "4t100", series: np.ndarray | None = None) -> int:
    """Number of Newey-West lags for ``t`` observations.

    ``rule``: an int (used as is), ``"t14"`` floor(T^(1/4)), ``"4t100"`` floor(4 (T/100)^(2/9)),
    or ``"nw1994"`` (automatic, needs ``series`` of length ``t``; see :func:`nw1994_bandwidth`).
    """
    if isinstance(rule, bool):
        raise TypeError("rule must be an int or a rule name")
    if isinstance(rule, int | np.integer):
        if rule < 0:
            raise ValueError("lags must be >= 0")
        return int(rule)
    if rule == "t14":
        return _floor(t**0.25)
    if rule == "4t100":
        return _floor(4 * (t / 100) ** (2.0 / 9.0))
    if rule == "nw1994":
        if series is None:
            raise ValueError("rule 'nw1994' needs the data series")
        series = np.asarray(series, dtype=float).ravel()
        if series.shape[0] != t:
            raise ValueError("series length must equal t")
        return nw1994_bandwidth(series)
    raise ValueError(f"unknown lag rule {rule!r}; use an int, 't14', '4t100' or 'nw1994'")


def bartlett_weights(lags: int) -> np.ndarray:
    """Bartlett weights ``1 - j / (lags + 1)`` for ``j = 0..lags``."""
    return 1.0 - np.arange(lags + 1) / (lags + 1.0)


def long_run_covariance(z: np.ndarray, lags: int) -> np.ndarray:
    r"""Bartlett-weighted sum of autocovariance matrices (not divided by T).

    :math:`S = \sum_t z_t z_t' + \sum_{j=1}^{L} w_j \sum_{t>j} (z_t z_{t-j}' + z_{t-j} z_t')`.
    ``z`` is (T, K) and is used as given (demean it first if needed).
    """
    z = as_columns(z)
    t = z.shape[0]
    if lags >= t:
        raise ValueError(f"lags ({lags}) must be below the number of observations ({t})")
    w = bartlett_weights(lags)
    s = z.T @ z
    for j in range(1, lags + 1):  # loop over lags only (small)
        g = z[j:].T @ z[:-j]
        s += w[j] * (g + g.T)
    return s


def newey_west_cov_mean(x: np.ndarray, lags: int, ddof: int = 0) -> np.ndarray:
    r"""Newey-West covariance of the sample mean of ``x`` (T,) or (T, K).

    :math:`\widehat{Var}(\bar x) = S / (T (T - ddof))` with ``S`` the Bartlett long-run sum of the
    demeaned series.  ``ddof=0`` is the textbook / statsmodels (OLS on a constant, HAC, no
    correction) value; ``ddof=1`` is linearmodels' ``debiased=True`` Fama-MacBeth convention, for
    which ``lags=0`` gives the classic ``sd^2 / T``.  Rows with a NaN are dropped.
    """
    x = as_columns(x)
    x = x[np.all(np.isfinite(x), axis=1)]
    t = x.shape[0]
    e = x - x.mean(axis=0)
    return long_run_covariance(e, lags) / (t * (t - ddof))


def newey_west_cov(
    x: np.ndarray, resid: np.ndarray, lags: int, use_correction: bool = False
) -> np.ndarray:
    r"""Newey-West covariance of OLS coefficients.

    :math:`(X'X)^{-1} S (X'X)^{-1}` with ``S`` the Bartlett long-run sum of the scores
    :math:`x_t e_t`, times ``n / (n - k)`` if ``use_correction`` (Stata ``newey``).
    Equals statsmodels ``cov_hac_simple(res, nlags=lags, use_correction=...)``.
    """
    x = np.asarray(x, dtype=float)
    e = np.asarray(resid, dtype=float).ravel()
    n, k = x.shape
    s = long_run_covariance(x * e[:, None], lags)
    xtx_inv = np.linalg.inv(x.T @ x)
    cov = xtx_inv @ s @ xtx_inv
    if use_correction:
        cov *= n / (n - k)
    return cov


@dataclass(frozen=True)
class HACResult:
    """OLS with Newey-West (Bartlett) covariance; fields mirror statsmodels' results (``bse``,
    ``tvalues``, ``pvalues`` and ``df_resid`` are derived from ``params``, ``cov`` and ``nobs``)."""

    params: np.ndarray
    cov: np.ndarray
    nobs: int
    lags: int
    r2: float
    resid: np.ndarray
    use_correction: bool
    use_t: bool

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def tvalues(self) -> np.ndarray:
        return self.params / self.bse

    @property
    def df_resid(self) -> int:
        return self.nobs - self.params.shape[0]

    @property
    def pvalues(self) -> np.ndarray:
        """Two-sided: t(df_resid) if ``use_t``, else normal (statsmodels' default)."""
        if self.use_t:
            return 2 * _stats().t.sf(np.abs(self.tvalues), self.df_resid)
        return 2 * _stats().norm.sf(np.abs(self.tvalues))


def ols_hac(
    y: np.ndarray,
    x: np.ndarray,
    lags: LagRule = "4t100",
    *,
    add_constant: bool = False,
    use_correction: bool = False,
    use_t: bool = False,
) -> HACResult:
    """OLS of ``y`` (T,) on ``x`` (T, K) with Newey-West standard errors.

    ``lags``: an int or a rule name of :func:`nw_lag` (``"nw1994"`` uses linearmodels' scores
    series: the sum of the non-constant columns of ``x * e``).  Rows with a NaN in ``y`` or ``x``
    are dropped (statsmodels ``missing="drop"``).  ``add_constant`` prepends a column of ones
    (the intercept, e.g. an alpha, is then ``params[0]``).  R² is centred if the design has a
    constant column, uncentred otherwise (statsmodels).  Defaults reproduce statsmodels
    ``fit(cov_type="HAC", cov_kwds={"maxlags": L})``; ``use_correction=True, use_t=True`` reproduces
    Stata ``newey, lag(L)``.
    """
    y = np.asarray(y, dtype=float).ravel()
    x = as_columns(x)
    if add_constant:
        x = np.column_stack([np.ones(x.shape[0]), x])
    ok = np.isfinite(y) & np.all(np.isfinite(x), axis=1)
    y, x = y[ok], x[ok]
    n, k = x.shape
    if n <= k:
        raise ValueError(f"need more observations ({n}) than regressors ({k})")
    params, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ params
    const_cols = np.all(x == x[:1], axis=0) & (x[0] != 0)
    has_const = bool(const_cols.any())
    if isinstance(lags, str) and lags == "nw1994":
        scores = x * e[:, None]
        sel = ~const_cols if (has_const and k > 1) else np.ones(k, dtype=bool)
        lag = nw_lag(n, "nw1994", series=scores[:, sel].sum(axis=1))
    else:
        lag = nw_lag(n, lags)
    cov = newey_west_cov(x, e, lag, use_correction=use_correction)
    ssr = float(e @ e)
    tss = float(((y - y.mean()) ** 2).sum()) if has_const else float(y @ y)
    return HACResult(
        params=params,
        cov=cov,
        nobs=n,
        lags=lag,
        r2=1.0 - ssr / tss if tss > 0 else float("nan"),  # a constant series has no variance to explain
        resid=e,
        use_correction=use_correction,
        use_t=use_t,
    )


@dataclass(frozen=True)
class GRSResult:
    """Gibbons-Ross-Shanken test of jointly zero alphas: F(df1 = N, df2 = T - N - K)."""

    f_stat: float
    t: int
    n: int
    k: int
    alphas: np.ndarray

    @property
    def df1(self) -> int:
        return self.n

    @property
    def df2(self) -> int:
        return self.t - self.n - self.k

    @property
    def pvalue(self) -> float:
        return float(_stats().f.sf(self.f_stat, self.df1, self.df2))


def grs_test(alphas: np.ndarray, residuals: np.ndarray, factors: np.ndarray) -> GRSResult:
    r"""Gibbons, Ross & Shanken (1989, Econometrica 57(5)) F test that all N alphas are zero.

    .. math::  F = \frac{T}{N}\frac{T-N-K}{T-K-1}
                   \frac{\hat a' \hat S^{-1} \hat a}{1 + \bar f' \hat W^{-1} \bar f}
                   \sim F(N, T-N-K)

    with :math:`\hat S = \hat e'\hat e / (T-K-1)` the residual covariance and :math:`\hat W` the
    sample factor covariance (ddof 1), :math:`\bar f` the factor means.  This convention gives
    GRS F = 8.6148 for the 18 size/value and size/momentum portfolios on FF3 in
    ``linearmodels.datasets.french`` (T = 819).  ``residuals`` (T, N) and ``factors`` (T, K) must
    be balanced (no NaN): the test is defined on a common sample.
    """
    a = np.asarray(alphas, dtype=float).ravel()
    e = np.asarray(residuals, dtype=float)
    f = as_columns(factors)
    t, n = e.shape
    k = f.shape[1]
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(f))):
        raise ValueError("GRS needs a balanced panel: residuals and factors without NaN")
    if t - n - k <= 0:
        raise ValueError(f"GRS needs T > N + K (T={t}, N={n}, K={k})")
    s = e.T @ e / (t - k - 1)
    w = np.atleast_2d(np.cov(f, rowvar=False, ddof=1))
    m = f.mean(axis=0)
    quad_a = float(a @ np.linalg.solve(s, a))
    quad_m = float(m @ np.linalg.solve(w, m))
    f_stat = (t / n) * ((t - n - k) / (t - k - 1)) * quad_a / (1.0 + quad_m)
    return GRSResult(f_stat=f_stat, t=t, n=n, k=k, alphas=a)


def grs_test_from_returns(returns: np.ndarray, factors: np.ndarray) -> GRSResult:
    """Time-series OLS of each of the N excess returns (T, N) on a constant and the K factors
    (T, K), then :func:`grs_test` on the alphas and residuals (balanced sample required)."""
    r = np.asarray(returns, dtype=float)
    f = as_columns(factors)
    z = np.column_stack([np.ones(f.shape[0]), f])
    coef, *_ = np.linalg.lstsq(z, r, rcond=None)
    resid = r - z @ coef
    return grs_test(coef[0], resid, f)
