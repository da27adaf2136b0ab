"""Fama-MacBeth cross-sectional regressions, Shanken (1992) correction and the two-pass method.

Pure numpy; no dagster.

* :func:`fama_macbeth` - Fama & MacBeth (1973, JPE 81(3)): for every period t an OLS of the
  returns y[t, :] on a constant and the per-coin regressors x[t, :, :] (betas as of t - 1, lagged
  characteristics); premium = mean of the T per-period slopes, SE = sd / sqrt(T), Newey-West SE
  of the mean of the slopes (Bartlett kernel, lag rule stored).  All periods are solved at once
  (batched centred normal equations on masked data), no per-period Python loop.
* :func:`shanken_correction` - Shanken (1992, RFS 5(1)) errors-in-variables covariance.
* :func:`two_pass` - first pass time-series betas (full sample, or rolling and lagged), second
  pass Fama-MacBeth on the betas; FM, NW and Shanken t-statistics.
* :func:`pooled_ols` - the pooled panel OLS of the same data with Driscoll & Kraay (1998, REStat
  80(4)) standard errors (Bartlett kernel on the per-period sums of the scores: robust to
  cross-sectional and serial dependence) or two-way (coin and period) clustered ones (Cameron,
  Gelbach & Miller 2011; Thompson 2011); equal to linearmodels ``PanelOLS(...).fit(cov_type=
  "kernel" | "clustered")``.  :func:`pooled_from_cross_sections` gets the pooled Driscoll-Kraay
  estimate from the per-period gammas and X'X alone (how the stored weekly gammas give it).

Fama-MacBeth and Driscoll-Kraay: the FM Newey-West covariance is already the Driscoll-Kraay idea
applied to the FM estimator (the per-period slopes are a time series whose averaging absorbs any
cross-sectional correlation; the kernel handles the serial one).  When every period has the same
coins and regressors (balanced, time-invariant X, e.g. full-sample betas) the two estimators
coincide exactly: gamma_t - mean = (X'X)^-1 X'e_t = (X'X)^-1 h_t with h_t the period's summed
scores, so the FM mean is the pooled OLS coefficient and the FM kernel covariance with
``debiased=False`` (S / T²) is the Driscoll-Kraay one, lag for lag.  Otherwise they differ: the pooled
estimate weights each period by its X'X (many coins, dispersed regressors count more), FM weights
periods equally.

Conventions match linearmodels ``FamaMacBeth(...).fit(cov_type="kernel", bandwidth=L)``
(default ``debiased=True``): the kernel covariance of the mean is
``S / (T (T - 1))`` with ``S`` the Bartlett-weighted (``1 - j/(L+1)``) long-run sum of the
demeaned per-period estimates, so ``L = 0`` gives the classic ``sd^2 / T``; the automatic lag
(``lag_rule="nw1994"``) is linearmodels' NW-1994 bandwidth computed on the sum over coefficients
of the standardised deviations.  p-values use t(T - 1), as linearmodels >= 7.1.
One convention differs: linearmodels estimates every period with at least P coins (exactly
identified cross-sections, R² = 1, included); our default ``min_coins`` is P + 1 (K + 2 with a
constant).  Pass ``min_coins=P`` to reproduce linearmodels exactly (the tests do).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.hac import (
    LagRule,
    as_columns,
    long_run_covariance,
    nw1994_bandwidth,
    nw_lag,
)
from cryptofactor_assets.estimators.rolling_ols import rolling_ols

__all__ = [
    "FamaMacBethResult",
    "PooledOLSResult",
    "ShankenResult",
    "TwoPassResult",
    "fama_macbeth",
    "pooled_from_cross_sections",
    "pooled_ols",
    "shanken_adjust_fm_cov",
    "shanken_correction",
    "two_pass",
]

#: The array fields of :func:`summarise_gammas_arrays`' summary that a result carries as they are.
_SUMMARY_ARRAYS = ("mean", "std", "se", "tstat", "pvalue", "cov", "nw_se", "nw_tstat", "nw_pvalue", "nw_cov")


def _stats():
    """``scipy.stats``, imported on first use: it costs ~1 s to import, paid by every process that
    loads the code location (each UI run worker) although only p-values need it."""
    from scipy import stats

    return stats


@dataclass(frozen=True)
class FamaMacBethResult:
    """Per-period gammas and their time-series summary (one entry per coefficient in ``names``).

    gammas: (T, P) per-period estimates (NaN in skipped periods); r2, n_obs, used: (T,).
    mean, std (ddof 1), se = std / sqrt(T), tstat, pvalue (t(T - 1)); nw_se, nw_tstat,
    nw_pvalue with ``nw_lags`` lags; annualised = mean * periods_per_year (NaN if not given).
    """

    names: tuple[str, ...]
    gammas: np.ndarray
    r2: np.ndarray
    n_obs: np.ndarray
    used: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    se: np.ndarray
    tstat: np.ndarray
    pvalue: np.ndarray
    cov: np.ndarray
    nw_se: np.ndarray
    nw_tstat: np.ndarray
    nw_pvalue: np.ndarray
    nw_cov: np.ndarray
    nw_lags: int
    lag_rule: str
    n_periods: int
    n_skipped_few: int
    n_skipped_singular: int
    min_coins: int
    periods_per_year: float | None
    annualised: np.ndarray
    avg_r2: float
    pooled: PooledOLSResult | None = None  # pooled OLS with Driscoll-Kraay errors (driscoll_kraay=True)

    def summary(self) -> pd.DataFrame:
        """One row per coefficient: mean, std, t, NW t, periods, annualised premium, lag used (and the
        pooled coefficient with its Driscoll-Kraay se and t when computed)."""
        out = pd.DataFrame(
            {
                "mean": self.mean,
                "std": self.std,
                "se": self.se,
                "t": self.tstat,
                "nw_se": self.nw_se,
                "nw_t": self.nw_tstat,
                "n_periods": self.n_periods,
                "nw_lags": self.nw_lags,
                "annualised": self.annualised,
            },
            index=pd.Index(self.names, name="coef"),
        )
        if self.pooled is not None:
            out["pooled"] = self.pooled.params
            out["dk_se"] = self.pooled.se
            out["dk_t"] = self.pooled.tstat
        return out


@dataclass(frozen=True)
class PooledOLSResult:
    """Pooled panel OLS (every usable coin-period stacked) with a panel-robust covariance.

    cov_type: ``"driscoll_kraay"`` (Bartlett kernel with ``lags`` lags on the per-period sums of the
    scores) or ``"two_way"`` (clustered by coin and by period, ``V_coin + V_period - V_white``;
    ``lags`` is None).  p-values: normal, or t(nobs - P) when ``debiased`` (linearmodels).
    """

    names: tuple[str, ...]
    params: np.ndarray
    cov: np.ndarray
    cov_type: str
    lags: int | None
    lag_rule: str | None
    nobs: int | None  # coin-periods (None when built from cross-sections without it)
    n_periods: int
    debiased: bool

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))

    @property
    def tstat(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.params / self.se

    @property
    def pvalue(self) -> np.ndarray:
        if self.debiased:
            return 2 * _stats().t.sf(np.abs(self.tstat), self.nobs - self.params.shape[0])
        return 2 * _stats().norm.sf(np.abs(self.tstat))


def _stack_regressors(
    x: np.ndarray | Mapping[str, np.ndarray | pd.DataFrame], names: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    if isinstance(x, Mapping):
        keys = list(x)
        arr = np.stack([np.asarray(x[k], dtype=float) for k in keys], axis=-1)
        return arr, list(names) if names is not None else [str(k) for k in keys]
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError("x must be (T, N, K), (T, N) or a mapping name -> (T, N)")
    k = arr.shape[2]
    return arr, list(names) if names is not None else [f"x{i}" for i in range(k)]


def cross_section_gammas(
    y: np.ndarray, x: np.ndarray, add_constant: bool, min_coins: int, singular_tol: float
) -> dict[str, np.ndarray]:
    """Per-period OLS of y[t] on [1, x[t]] for all t at once (centred normal equations).

    Regressors are handled as K contiguous (T, N) slabs and the K (K + 1) / 2 cross-products as
    row-wise dot products (einsum): much faster than batched matmuls on (T, N, K) strided data.
    Also returns ``xtx`` (T, P, P), each period's raw ``X_t'X_t`` over its coins (constant first).
    """
    t_len, _, k = x.shape
    p = k + int(add_constant)
    xs = [np.ascontiguousarray(x[:, :, j]) for j in range(k)]
    m = np.isfinite(y)
    for xj in xs:
        m &= np.isfinite(xj)
    n = m.sum(axis=1)
    y0 = np.where(m, y, 0.0)
    x0 = [np.where(m, xj, 0.0) for xj in xs]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_n = np.where(n > 0, 1.0 / np.maximum(n, 1), 0.0)
        if add_constant:
            # Exact two-pass centring per period (the whole cross-section is at hand); masked
            # cells stay exactly 0.
            xbar = np.column_stack([xj.sum(axis=1) * inv_n for xj in x0])
            ybar = y0.sum(axis=1) * inv_n
            xc = [np.where(m, xj - xbar[:, j, None], 0.0) for j, xj in enumerate(x0)]
            yc = np.where(m, y0 - ybar[:, None], 0.0)
        else:
            xbar = np.zeros((t_len, k))
            ybar = np.zeros(t_len)
            xc, yc = x0, y0
        cxx = np.empty((t_len, k, k))
        for i in range(k):
            for j in range(i, k):
                cxx[:, i, j] = cxx[:, j, i] = np.einsum("tn,tn->t", xc[i], xc[j])
        # Raw design moments X_t'X_t (constant first): the pooled / Driscoll-Kraay pieces.
        xtx = np.empty((t_len, p, p))
        off = int(add_constant)
        if add_constant:
            xtx[:, 0, 0] = n
            for j in range(k):
                xtx[:, 0, 1 + j] = xtx[:, 1 + j, 0] = x0[j].sum(axis=1)
        for i in range(k):
            for j in range(i, k):
                xtx[:, off + i, off + j] = xtx[:, off + j, off + i] = np.einsum("tn,tn->t", x0[i], x0[j])
        cxy = np.column_stack([np.einsum("tn,tn->t", xc[i], yc) for i in range(k)])
        cyy = np.einsum("tn,tn->t", yc, yc)
        raw = np.column_stack([np.einsum("tn,tn->t", xj, xj) for xj in x0])
        diag = np.diagonal(cxx, axis1=1, axis2=2)
        varies = diag > 1e-12 * raw  # (T, K): regressor k varies across coins in period t
        enough = n >= min_coins
        scale = np.sqrt(np.where(diag > 0, diag, 1.0))
        corr = cxx / (scale[:, :, None] * scale[:, None, :])
        det = np.linalg.det(corr)
    nonsingular = varies.all(axis=1) & (det > singular_tol)
    used = enough & nonsingular
    gammas = np.full((t_len, p), np.nan)
    r2 = np.full(t_len, np.nan)
    if used.any():
        slopes = np.linalg.solve(cxx[used], cxy[used][..., None])[..., 0]
        off = int(add_constant)
        gammas[used, off:] = slopes
        if add_constant:
            gammas[used, 0] = ybar[used] - np.einsum("tk,tk->t", xbar[used], slopes)
        ssr = cyy[used] - np.einsum("tk,tk->t", slopes, cxy[used])
        with np.errstate(divide="ignore", invalid="ignore"):
            r2[used] = 1.0 - ssr / cyy[used]
    return {
        "gammas": gammas,
        "r2": r2,
        "n": n,
        "used": used,
        "enough": enough,
        "varies": varies,
        "xtx": xtx,
    }


def _nw_lags_for(e: np.ndarray, lags: int | None, lag_rule: LagRule) -> tuple[int, str]:
    t = e.shape[0]
    if lags is not None:
        return int(lags), "fixed"
    if isinstance(lag_rule, str) and lag_rule == "nw1994":
        # linearmodels: the rule is run on the sum over coefficients of the standardised
        # deviations (std with ddof 0).
        series = np.sum(e / e.std(axis=0)[None, :], axis=1)
        return nw1994_bandwidth(series), "nw1994"
    return nw_lag(t, lag_rule), str(lag_rule)


def summarise_gammas_arrays(
    gammas: np.ndarray,
    used: np.ndarray,
    lags: int | None,
    lag_rule: LagRule,
    debiased: bool,
) -> dict[str, np.ndarray | int | str]:
    g = gammas[used]
    t = g.shape[0]
    if t < 2:
        raise ValueError(f"Fama-MacBeth needs at least 2 usable periods, got {t}")
    mean = g.mean(axis=0)
    e = g - mean
    std = g.std(axis=0, ddof=1)
    cov = e.T @ e / (t * (t - 1))
    se = np.sqrt(np.diag(cov))
    lag, rule = _nw_lags_for(e, lags, lag_rule)
    if lag >= t:
        raise ValueError(f"Newey-West lags ({lag}) must be below the number of periods ({t})")
    ddof = 1 if debiased else 0
    nw_cov = long_run_covariance(e, lag) / (t * (t - ddof))
    nw_se = np.sqrt(np.diag(nw_cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = mean / se
        nw_t = mean / nw_se
    return {
        "mean": mean,
        "std": std,
        "se": se,
        "tstat": tstat,
        "pvalue": 2 * _stats().t.sf(np.abs(tstat), t - 1),
        "cov": cov,
        "nw_se": nw_se,
        "nw_tstat": nw_t,
        "nw_pvalue": 2 * _stats().t.sf(np.abs(nw_t), t - 1),
        "nw_cov": nw_cov,
        "nw_lags": lag,
        "lag_rule": rule,
        "n_periods": t,
    }


def fama_macbeth(
    y: np.ndarray | pd.DataFrame,
    x: np.ndarray | Mapping[str, np.ndarray | pd.DataFrame],
    *,
    names: Sequence[str] | None = None,
    add_constant: bool = True,
    lags: int | None = None,
    lag_rule: LagRule = "nw1994",
    debiased: bool = True,
    min_coins: int | None = None,
    periods_per_year: float | None = None,
    singular_tol: float = 1e-10,
    driscoll_kraay: bool = False,
) -> FamaMacBethResult:
    """Fama-MacBeth regressions of ``y`` (T, N) on per-coin regressors ``x`` (T, N, K).

    ``x[t]`` must be known when ``y[t]`` starts (betas as of t - 1, lagged characteristics):
    aligning is the caller's job.  A cell with NaN in y or any x is dropped from its period.
    Periods with fewer than ``min_coins`` coins (default ``P + 1``, i.e. K + 2 with a constant)
    are skipped and counted in ``n_skipped_few``; periods whose regressors are collinear or do not
    vary across coins are skipped and counted in ``n_skipped_singular``.  A regressor that varies
    across coins in NO period (a time-series variable such as a factor return, collinear with the
    constant) raises ``ValueError``.

    Newey-West: ``lags`` (int) if given, else ``lag_rule`` (``"nw1994"`` automatic as
    linearmodels, ``"t14"``, ``"4t100"``, see :func:`~cryptofactor_assets.estimators.hac.nw_lag`)
    applied to the number of used periods.  ``debiased=True`` divides by T (T - 1) (linearmodels'
    default; with 0 lags it is the classic sd^2 / T), ``False`` by T^2.

    ``driscoll_kraay=True`` adds ``pooled``: the pooled OLS over the coin-periods of the periods FM
    uses, with Driscoll-Kraay errors with the same number of lags as the Newey-West ones
    (:func:`pooled_from_cross_sections`; the module docstring says when it equals FM).
    """
    y_arr = np.asarray(y, dtype=float)
    x_arr, xnames = _stack_regressors(x, names)
    if y_arr.ndim != 2 or x_arr.shape[:2] != y_arr.shape:
        raise ValueError(f"y must be (T, N) and x (T, N, K); got {y_arr.shape} and {x_arr.shape}")
    k = x_arr.shape[2]
    p = k + int(add_constant)
    if min_coins is None:
        min_coins = p + 1
    if min_coins < p:
        raise ValueError(f"min_coins must be >= the number of coefficients ({p})")
    cs = cross_section_gammas(y_arr, x_arr, add_constant, min_coins, singular_tol)
    enough = cs["enough"]
    never = ~cs["varies"][enough].any(axis=0) if enough.any() else np.ones(k, dtype=bool)
    if never.any():
        bad = [xnames[i] for i in np.flatnonzero(never)]
        raise ValueError(
            f"regressor(s) {bad} have no cross-sectional variation in any period: they look like "
            "time-series variables (e.g. factor returns), which are collinear with the "
            "intercept in a cross-sectional regression (linearmodels reports 'rank deficient'). "
            "Pass per-coin exposures (betas, lagged characteristics), or use two_pass() to "
            "price factor returns through their betas."
        )
    summ = summarise_gammas_arrays(cs["gammas"], cs["used"], lags, lag_rule, debiased)
    ppy = np.nan if periods_per_year is None else float(periods_per_year)
    all_names = (("const",) if add_constant else ()) + tuple(xnames)
    r2 = cs["r2"]
    return FamaMacBethResult(
        names=all_names,
        gammas=cs["gammas"],
        r2=r2,
        n_obs=cs["n"],
        used=cs["used"],
        **{field: summ[field] for field in _SUMMARY_ARRAYS},
        nw_lags=int(summ["nw_lags"]),
        lag_rule=str(summ["lag_rule"]),
        n_periods=int(summ["n_periods"]),
        n_skipped_few=int((~enough).sum()),
        n_skipped_singular=int((enough & ~cs["used"]).sum()),
        min_coins=min_coins,
        periods_per_year=periods_per_year,
        annualised=summ["mean"] * ppy,
        avg_r2=float(np.nanmean(r2[cs["used"]])) if cs["used"].any() else float("nan"),
        pooled=pooled_from_cross_sections(
            cs["gammas"][cs["used"]], cs["xtx"][cs["used"]], names=all_names, lags=int(summ["nw_lags"]),
            nobs=int(cs["n"][cs["used"]].sum()),
        ) if driscoll_kraay else None,
    )


def _pooled(a: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled OLS from per-period ``a`` = X_t'X_t (T, P, P) and ``g`` = X_t'y_t (T, P): the
    coefficients, (sum X_t'X_t)^-1 and the per-period sums of the scores h_t = X_t'e_t."""
    a_inv = np.linalg.inv(a.sum(axis=0))
    b = a_inv @ g.sum(axis=0)
    h = g - a @ b
    return b, a_inv, h


def _dk_lags(h: np.ndarray, lags: int | None, lag_rule: LagRule) -> tuple[int, str]:
    if lags is not None:
        return int(lags), "fixed"
    return _nw_lags_for(h - h.mean(axis=0), None, lag_rule)


def pooled_from_cross_sections(
    gammas: np.ndarray,
    xtx: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    lags: int | None = None,
    lag_rule: LagRule = "4t100",
    nobs: int | None = None,
    debiased: bool = False,
) -> PooledOLSResult:
    r"""Pooled OLS with Driscoll-Kraay errors from T per-period OLS fits alone.

    ``gammas`` (T, P) are the periods' cross-sectional coefficients and ``xtx`` (T, P, P) their
    ``X_t'X_t``; since ``X_t'y_t = X_t'X_t gamma_t``, the pooled coefficient is the matrix-weighted
    mean :math:`b = (\sum_t A_t)^{-1} \sum_t A_t \gamma_t` and the period's summed scores are
    :math:`h_t = A_t (\gamma_t - b)`.  Driscoll & Kraay (1998): :math:`V = A^{-1} S A^{-1}`,
    :math:`A = \sum_t A_t`, ``S`` the Bartlett long-run sum of ``h_t`` with ``lags`` (or
    ``lag_rule`` on T) lags, times ``nobs / (nobs - P)`` if ``debiased`` (``nobs`` = coin-periods).
    Equals :func:`pooled_ols` on the same periods.
    """
    gam = as_columns(gammas)
    a = np.asarray(xtx, dtype=float)
    t, p = gam.shape
    if a.shape != (t, p, p):
        raise ValueError(f"xtx must be (T, P, P) = {(t, p, p)}, got {a.shape}")
    if not (np.all(np.isfinite(gam)) and np.all(np.isfinite(a))):
        raise ValueError("gammas and xtx must be finite (pass the estimated periods only)")
    g = np.einsum("tpq,tq->tp", a, gam)
    b, a_inv, h = _pooled(a, g)
    lag, rule = _dk_lags(h, lags, lag_rule)
    if lag >= t:
        raise ValueError(f"Driscoll-Kraay lags ({lag}) must be below the number of periods ({t})")
    cov = a_inv @ long_run_covariance(h, lag) @ a_inv
    if debiased:
        if nobs is None:
            raise ValueError("debiased=True needs nobs")
        cov *= nobs / (nobs - p)
    names = tuple(names) if names is not None else tuple(f"x{i}" for i in range(p))
    return PooledOLSResult(names=names, params=b, cov=(cov + cov.T) / 2, cov_type="driscoll_kraay", lags=lag,
                           lag_rule=rule, nobs=None if nobs is None else int(nobs), n_periods=t, debiased=debiased)


def pooled_ols(
    y: np.ndarray | pd.DataFrame,
    x: np.ndarray | Mapping[str, np.ndarray | pd.DataFrame],
    *,
    names: Sequence[str] | None = None,
    add_constant: bool = True,
    cov_type: str = "driscoll_kraay",
    lags: int | None = None,
    lag_rule: LagRule = "4t100",
    debiased: bool = False,
) -> PooledOLSResult:
    """Pooled OLS of ``y`` (T, N) on ``[1, x]`` (``x`` (T, N, K) as in :func:`fama_macbeth`) over
    every coin-period where y and all x are finite, with panel-robust errors:

    * ``"driscoll_kraay"``: Driscoll & Kraay (1998), ``(X'X)^-1 S (X'X)^-1`` with ``S`` the
      Bartlett-weighted long-run sum of the per-period score sums ``h_t = sum_i x_it e_it``
      (robust to any cross-sectional and to serial dependence); ``lags`` or ``lag_rule`` on the
      number of periods (default ``"4t100"``, linearmodels' default bandwidth).  Periods without
      an observation are left out of the kernel (linearmodels groups by the periods present);
    * ``"two_way"``: clustered by coin and by period, meat ``sum_i u_i u_i' + sum_t h_t h_t' -
      sum_it e_it^2 x_it x_it'`` (Cameron, Gelbach & Miller 2011; not always positive definite).

    ``debiased`` multiplies by ``nobs / (nobs - P)``.  Equal to linearmodels
    ``PanelOLS(y, [const, x]).fit(cov_type="kernel", kernel="bartlett", bandwidth=L)`` and
    ``fit(cov_type="clustered", cluster_entity=True, cluster_time=True, group_debias=False)`` with
    the same ``debiased`` (tests).
    """
    if cov_type not in ("driscoll_kraay", "two_way"):
        raise ValueError(f"cov_type must be 'driscoll_kraay' or 'two_way', got {cov_type!r}")
    y_arr = np.asarray(y, dtype=float)
    x_arr, xnames = _stack_regressors(x, names)
    if y_arr.ndim != 2 or x_arr.shape[:2] != y_arr.shape:
        raise ValueError(f"y must be (T, N) and x (T, N, K); got {y_arr.shape} and {x_arr.shape}")
    m = np.isfinite(y_arr) & np.all(np.isfinite(x_arr), axis=2)
    z = np.where(m[..., None], x_arr, 0.0)
    if add_constant:
        z = np.concatenate([m[..., None].astype(float), z], axis=2)
    y0 = np.where(m, y_arr, 0.0)
    p = z.shape[2]
    nobs = int(m.sum())
    if nobs <= p:
        raise ValueError(f"need more observations ({nobs}) than coefficients ({p})")
    present = m.any(axis=1)
    a = np.einsum("tnp,tnq->tpq", z, z)[present]
    g = np.einsum("tnp,tn->tp", z, y0)[present]
    b, a_inv, h = _pooled(a, g)
    all_names = (("const",) if add_constant else ()) + tuple(xnames)
    if cov_type == "driscoll_kraay":
        lag, rule = _dk_lags(h, lags, lag_rule)
        if lag >= h.shape[0]:
            raise ValueError(f"Driscoll-Kraay lags ({lag}) must be below the number of periods ({h.shape[0]})")
        meat = long_run_covariance(h, lag)
    else:
        lag, rule = None, None
        e = np.where(m, y0 - np.einsum("tnp,p->tn", z, b), 0.0)
        scores = z * e[..., None]  # (T, N, P)
        u = scores.sum(axis=0)  # per coin
        meat = u.T @ u + h.T @ h - np.einsum("tnp,tnq->pq", scores, scores)
    cov = a_inv @ meat @ a_inv
    if debiased:
        cov *= nobs / (nobs - p)
    return PooledOLSResult(names=all_names, params=b, cov=(cov + cov.T) / 2, cov_type=cov_type, lags=lag,
                           lag_rule=rule, nobs=nobs, n_periods=int(present.sum()), debiased=debiased)


@dataclass(frozen=True)
class ShankenResult:
    """Shanken (1992) covariance of the second-pass coefficients (P x P) and its pieces."""

    cov: np.ndarray
    se: np.ndarray
    c: float  # lambda' Sigma_f^-1 lambda: the variance (not the SE) is scaled by 1 + c


def _bordered_factor_cov(factor_cov: np.ndarray, add_constant: bool) -> np.ndarray:
    sf = np.atleast_2d(np.asarray(factor_cov, dtype=float))
    if not add_constant:
        return sf
    k = sf.shape[0]
    out = np.zeros((k + 1, k + 1))
    out[1:, 1:] = sf  # the intercept (zero-beta rate) has no factor-sampling term
    return out


def shanken_correction(
    betas: np.ndarray,
    resid_cov: np.ndarray,
    factor_cov: np.ndarray,
    premia: np.ndarray,
    t: int,
    *,
    add_constant: bool = True,
) -> ShankenResult:
    r"""Shanken (1992) EIV-corrected covariance of two-pass OLS premia (methodology.md):

    .. math:: Var = \frac{1}{T}\left[(X'X)^{-1} X' \Sigma_e X (X'X)^{-1} (1 + c)
              + \Sigma_f^*\right], \quad c = \lambda' \Sigma_f^{-1} \lambda

    with ``X = [1, B]`` (or ``B`` without constant), ``B`` the (N, K) betas, ``Σ_e`` the (N, N)
    residual covariance, ``Σ_f`` the (K, K) factor covariance (bordered with zeros for the
    intercept) and ``λ`` the K factor premia (intercept excluded).  The ``1 + c`` multiplies the
    variance, not the standard error.
    """
    b = as_columns(betas)
    lam = np.atleast_1d(np.asarray(premia, dtype=float))
    sf = np.atleast_2d(np.asarray(factor_cov, dtype=float))
    se_ = np.asarray(resid_cov, dtype=float)
    xmat = np.column_stack([np.ones(b.shape[0]), b]) if add_constant else b
    xtx_inv = np.linalg.inv(xmat.T @ xmat)
    sandwich = xtx_inv @ xmat.T @ se_ @ xmat @ xtx_inv
    c = float(lam @ np.linalg.solve(sf, lam))
    cov = (sandwich * (1.0 + c) + _bordered_factor_cov(sf, add_constant)) / t
    return ShankenResult(cov=cov, se=np.sqrt(np.diag(cov)), c=c)


def shanken_adjust_fm_cov(
    fm_cov: np.ndarray,
    factor_cov: np.ndarray,
    premia: np.ndarray,
    t: int,
    *,
    add_constant: bool = True,
) -> ShankenResult:
    r"""Shanken's adjustment of a Fama-MacBeth covariance of the mean gammas:
    :math:`(1 + c)(V_{FM} - \Sigma_f^*/T) + \Sigma_f^*/T` (Shanken 1992, eq. for the adjusted FM
    estimator; Jagannathan & Wang 1998).  Used when the betas are rolling (no single Σ_e)."""
    lam = np.atleast_1d(np.asarray(premia, dtype=float))
    sf = np.atleast_2d(np.asarray(factor_cov, dtype=float))
    c = float(lam @ np.linalg.solve(sf, lam))
    sfb = _bordered_factor_cov(sf, add_constant) / t
    cov = (1.0 + c) * (np.asarray(fm_cov, dtype=float) - sfb) + sfb
    return ShankenResult(cov=cov, se=np.sqrt(np.clip(np.diag(cov), 0, None)), c=c)


@dataclass(frozen=True)
class TwoPassResult:
    """Two-pass premia: the Fama-MacBeth second pass plus Shanken-corrected inference.

    betas: (N, K) full-sample first-pass betas, or (T, N, K) rolling betas as of t - 1.
    shanken_*: Shanken (1992) covariance / SE / t of the FM mean coefficients.
    """

    fm: FamaMacBethResult
    betas: np.ndarray
    alphas: np.ndarray | None
    resid_cov: np.ndarray | None
    factor_cov: np.ndarray
    shanken_cov: np.ndarray
    shanken_se: np.ndarray
    shanken_tstat: np.ndarray
    shanken_c: float
    beta_window: int | None

    @property
    def premia(self) -> np.ndarray:
        return self.fm.mean

    def summary(self) -> pd.DataFrame:
        out = self.fm.summary()
        out["shanken_se"] = self.shanken_se
        out["shanken_t"] = self.shanken_tstat
        return out


def two_pass(
    returns: np.ndarray | pd.DataFrame,
    factors: np.ndarray | pd.DataFrame,
    *,
    factor_names: Sequence[str] | None = None,
    add_constant: bool = True,
    beta_window: int | None = None,
    beta_min_obs: int | None = None,
    lags: int | None = None,
    lag_rule: LagRule = "nw1994",
    min_coins: int | None = None,
    periods_per_year: float | None = None,
) -> TwoPassResult:
    """Two-pass (Black-Jensen-Scholes / Fama-MacBeth) risk premia of K factors.

    First pass: per coin, OLS of ``returns`` (T, N) on a constant and ``factors`` (T, K).
    ``beta_window=None``: full-sample betas (rows where the coin and all factors are finite; at
    least ``beta_min_obs``, default K + 2, else the coin is dropped) - the textbook two-pass, in
    sample.  ``beta_window=w``: rolling betas over w rows (see
    :func:`~cryptofactor_assets.estimators.rolling_ols.rolling_ols`), and period t uses the betas
    as of t - 1 (no look-ahead).
    Second pass: :func:`fama_macbeth` of returns on betas (with a constant if ``add_constant``).
    Shanken: full-sample betas use :func:`shanken_correction` with ``Σ_e`` the residual covariance
    (pairwise over common rows, divided by n_ij - K - 1; e'e / (T - K - 1) on a balanced panel) and
    ``Σ_f`` the sample factor covariance (ddof 1) over the rows with all factors finite; rolling
    betas use :func:`shanken_adjust_fm_cov`.  ``T`` = number of second-pass periods used.
    """
    r = np.asarray(returns, dtype=float)
    f = as_columns(factors)
    t_len, n = r.shape
    k = f.shape[1]
    if f.shape[0] != t_len:
        raise ValueError("returns and factors must have the same number of rows")
    if factor_names is None:
        factor_names = list(factors.columns) if isinstance(factors, pd.DataFrame) else [f"f{i}" for i in range(k)]
    fx = np.all(np.isfinite(f), axis=1)
    factor_cov = np.atleast_2d(np.cov(f[fx], rowvar=False, ddof=1))
    alphas = None
    resid_cov = None
    if beta_window is None:
        min_obs = k + 2 if beta_min_obs is None else beta_min_obs
        first = rolling_ols(r, f, window=t_len, min_obs=min_obs, compute_bse=False)
        coef = first.params[-1]  # (N, K + 1): the window covers the whole sample
        alphas = coef[:, 0]
        betas = coef[:, 1:]
        x = np.broadcast_to(betas, (t_len, n, k))
        fm = fama_macbeth(
            r, x, names=factor_names, add_constant=add_constant, lags=lags, lag_rule=lag_rule,
            min_coins=min_coins, periods_per_year=periods_per_year,
        )
        # Residuals on each coin's own rows; pairwise residual covariance.
        z = np.column_stack([np.ones(t_len), np.where(fx[:, None], f, 0.0)])
        resid = r - z @ coef.T
        ok = np.isfinite(resid) & fx[:, None] & np.all(np.isfinite(coef), axis=1)[None, :]
        e0 = np.where(ok, resid, 0.0)
        counts = ok.T.astype(float) @ ok.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            resid_cov = (e0.T @ e0) / (counts - k - 1)
        coins = np.all(np.isfinite(coef), axis=1)
        sh = shanken_correction(
            betas[coins], resid_cov[np.ix_(coins, coins)], factor_cov,
            fm.mean[int(add_constant):], fm.n_periods, add_constant=add_constant,
        )
    else:
        first = rolling_ols(r, f, window=beta_window, min_obs=beta_min_obs, compute_bse=False)
        betas = np.full((t_len, n, k), np.nan)
        betas[1:] = first.betas[:-1]  # as of t - 1
        fm = fama_macbeth(
            r, betas, names=factor_names, add_constant=add_constant, lags=lags, lag_rule=lag_rule,
            min_coins=min_coins, periods_per_year=periods_per_year,
        )
        sh = shanken_adjust_fm_cov(
            fm.cov, factor_cov, fm.mean[int(add_constant):], fm.n_periods, add_constant=add_constant
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        sh_t = fm.mean / sh.se
    return TwoPassResult(
        fm=fm,
        betas=betas,
        alphas=alphas,
        resid_cov=resid_cov,
        factor_cov=factor_cov,
        shanken_cov=sh.cov,
        shanken_se=sh.se,
        shanken_tstat=sh_t,
        shanken_c=sh.c,
        beta_window=beta_window,
    )
