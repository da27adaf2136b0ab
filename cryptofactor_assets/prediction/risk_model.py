"""Factor risk model ``Sigma = B Omega_f B' + D`` (e.g. Grinold & Kahn, "Active Portfolio Management",
ch. 3; Connor 1995, FAJ 51(3)).

* ``B`` (N x K) loadings (rolling betas of each coin on the daily factors: MKT, SIZE, MOM and VOL, FUND,
  CHAIN where their inputs exist), ``Omega_f`` (K x K) factor covariance, ``D = diag(d)`` residual
  variances. Per coin the explained-variance ratio is ``(B Omega_f B')_ii / Sigma_ii``.
* Parameter count: ``N K + K (K + 1) / 2 + N`` against ``N (N + 1) / 2`` for an unrestricted covariance.
* Exactness (``check_reproduction``): let ``R = 1 a' + F B' + E`` be the time-series OLS fits *with
  intercept* of every coin on the same T periods. The normal equations give ``1'E = 0`` and ``F'E = 0``,
  so the sample covariances (any common ddof) satisfy ``S_R = B S_F B' + S_E`` exactly. With
  ``Omega_f = S_F`` and ``D = diag(S_E)`` (same ddof):

  - the diagonal is reproduced exactly: ``diag(Sigma) = diag(S_R)``;
  - off the diagonal, ``S_R - Sigma = S_E - diag(S_E)``: the error is exactly the residual
    cross-covariance, which the model sets to zero.

  With coin-specific samples (missing weeks) or betas from another window this no longer holds exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def parameter_count(n_assets: int, n_factors: int) -> tuple[int, int]:
    """(factor-model parameters ``N K + K (K + 1) / 2 + N``, full covariance ``N (N + 1) / 2``)."""
    n, k = int(n_assets), int(n_factors)
    return n * k + k * (k + 1) // 2 + n, n * (n + 1) // 2


@dataclass(frozen=True)
class FactorRiskModel:
    symbols: tuple[str, ...]
    factors: tuple[str, ...]
    betas: np.ndarray  # (N, K)
    factor_cov: np.ndarray  # (K, K)
    resid_var: np.ndarray  # (N,)
    covariance: np.ndarray  # (N, N) B Omega B' + D
    systematic_var: np.ndarray  # (N,) diag(B Omega B')
    total_var: np.ndarray  # (N,) diag(Sigma)
    explained_ratio: np.ndarray  # (N,) systematic / total
    n_params_factor: int
    n_params_full: int

    def table(self) -> pd.DataFrame:
        """Per coin: betas, total / systematic / residual variance, explained-variance ratio."""
        df = pd.DataFrame(self.betas, columns=[f"beta_{f}" for f in self.factors])
        df.insert(0, "symbol", list(self.symbols))
        df["total_var"] = self.total_var
        df["systematic_var"] = self.systematic_var
        df["resid_var"] = self.resid_var
        df["explained_ratio"] = self.explained_ratio
        return df


def factor_risk_model(betas: np.ndarray, factor_cov: np.ndarray, resid_var: np.ndarray,
                      symbols: Sequence[str] | None = None,
                      factors: Sequence[str] | None = None) -> FactorRiskModel:
    """Assemble ``Sigma = B Omega_f B' + diag(d)`` and its per-coin decomposition.

    Coins with a missing beta or residual variance are dropped (their rows would be undefined).
    """
    B = np.atleast_2d(np.asarray(betas, dtype=float))
    Om = np.atleast_2d(np.asarray(factor_cov, dtype=float))
    d = np.asarray(resid_var, dtype=float)
    n, k = B.shape
    if Om.shape != (k, k) or d.shape != (n,):
        raise ValueError(f"shapes do not match: betas {B.shape}, factor_cov {Om.shape}, resid_var {d.shape}")
    if not np.allclose(Om, Om.T, rtol=1e-12, atol=0):
        raise ValueError("factor covariance is not symmetric")
    syms = tuple(symbols) if symbols is not None else tuple(str(i) for i in range(n))
    facs = tuple(factors) if factors is not None else tuple(f"f{j}" for j in range(k))
    ok = np.isfinite(B).all(axis=1) & np.isfinite(d)
    B, d, syms = B[ok], d[ok], tuple(s for s, o in zip(syms, ok, strict=True) if o)
    sys_cov = B @ Om @ B.T
    sys_cov = 0.5 * (sys_cov + sys_cov.T)  # exact symmetry despite rounding
    cov = sys_cov + np.diag(d)
    sv = np.diag(sys_cov).copy()
    tv = np.diag(cov).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tv > 0, sv / tv, np.nan)
    pf, pfull = parameter_count(B.shape[0], k)
    return FactorRiskModel(syms, facs, B, Om, d, cov, sv, tv, ratio, pf, pfull)


@dataclass(frozen=True)
class TimeSeriesOLS:
    """Per-coin OLS ``r_i = a_i + F b_i + e_i`` on a complete (T, N) panel, all coins at once."""

    alpha: np.ndarray  # (N,)
    betas: np.ndarray  # (N, K)
    residuals: np.ndarray  # (T, N)
    factor_cov: np.ndarray  # (K, K) sample covariance of F with ``ddof``
    resid_var: np.ndarray  # (N,) residual variance with ``ddof`` (same as the covariances)
    ddof: int


def fit_time_series(returns: np.ndarray, factors: np.ndarray, ddof: int = 1) -> TimeSeriesOLS:
    """One least-squares solve with N right-hand sides (no loop over coins). Requires a complete panel."""
    R = np.asarray(returns, dtype=float)
    F = np.asarray(factors, dtype=float)
    if np.isnan(R).any() or np.isnan(F).any():
        raise ValueError("fit_time_series needs a complete panel; use diagnostics.time_series_fit for gaps")
    X = np.column_stack([np.ones(len(F)), F])
    coef, *_ = np.linalg.lstsq(X, R, rcond=None)
    E = R - X @ coef
    return TimeSeriesOLS(alpha=coef[0], betas=coef[1:].T, residuals=E,
                         factor_cov=np.atleast_2d(np.cov(F, rowvar=False, ddof=ddof)),
                         resid_var=E.var(axis=0, ddof=ddof), ddof=ddof)


@dataclass(frozen=True)
class ReproductionCheck:
    """How ``B S_F B' + diag(S_E)`` from same-sample OLS reproduces the sample covariance ``S_R``."""

    max_abs_diag_error: float  # max_i |Sigma_ii - S_ii|: zero up to rounding
    max_abs_offdiag_identity_error: float  # max_{i!=j} |(S - Sigma)_ij - (S_E)_ij|: zero up to rounding
    max_abs_resid_cov: float  # max_{i!=j} |(S_E)_ij|: what the model leaves out
    relative_offdiag_error: float  # ||offdiag(S - Sigma)||_F / ||offdiag(S)||_F
    ok: bool


def check_reproduction(returns: np.ndarray, factors: np.ndarray, ddof: int = 1,
                       rtol: float = 1e-10) -> ReproductionCheck:
    """Build the model from same-sample OLS and verify the two exact statements in the module docstring
    (``ok`` when both hold within ``rtol`` times the largest sample variance)."""
    R = np.asarray(returns, dtype=float)
    fit = fit_time_series(R, factors, ddof)
    model = factor_risk_model(fit.betas, fit.factor_cov, fit.resid_var)
    S = np.cov(R, rowvar=False, ddof=ddof)
    SE = np.cov(fit.residuals, rowvar=False, ddof=ddof)
    off = ~np.eye(S.shape[0], dtype=bool)
    diff = S - model.covariance
    diag_err = float(np.max(np.abs(np.diag(diff))))
    id_err = float(np.max(np.abs(diff[off] - SE[off]))) if off.any() else 0.0
    rel = float(np.linalg.norm(diff[off]) / np.linalg.norm(S[off])) if off.any() else 0.0
    scale = float(np.max(np.diag(S)))
    return ReproductionCheck(diag_err, id_err, float(np.max(np.abs(SE[off]))) if off.any() else 0.0, rel,
                             bool(diag_err <= rtol * scale and id_err <= rtol * scale))


def trailing_factor_cov(factor_returns: pd.DataFrame, asof: object, window: int | None = None,
                        ddof: int = 1, factors: Sequence[str] = ("cmkt", "csmb", "cmom"),
                        date_col: str = "week_start") -> np.ndarray:
    """Sample covariance of the factors over the ``window`` rows up to and including ``asof`` (all rows
    up to ``asof`` when ``window`` is None): only past data enter the risk model of date ``asof``."""
    df = factor_returns.sort_values(date_col)
    df = df[df[date_col] <= asof]
    if window is not None:
        df = df.tail(window)
    return np.atleast_2d(np.cov(df[list(factors)].to_numpy(dtype=float), rowvar=False, ddof=ddof))
