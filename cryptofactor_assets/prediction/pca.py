"""Statistical (PCA) factors from a (T, N) weekly return panel with missing coins.

Two ways to handle coins that are not listed every week (``method``):

* ``"em"`` (default): iterative low-rank imputation, the EM algorithm of Stock & Watson (2002, JBES
  20(2), appendix A) for a static factor model: start from the column means, then repeat
  ``PCA(k) of the filled, centred panel -> replace the missing cells by the rank-k reconstruction``
  until the imputed cells move by less than ``tol`` (relative). Observed cells are never changed.
  On a complete panel it is exactly PCA (zero iterations).
* ``"pairwise"``: eigen-decomposition of the pairwise-complete sample covariance (each pair of coins over
  the weeks both trade, means over that common sample, ddof 1, as ``pandas.DataFrame.cov``). It may
  be indefinite; negative eigenvalues are reported as they are and excluded from the total variance.

Loadings are unit-norm eigenvectors (columns), signs fixed so that each loading vector sums to a
non-negative number (the first component then reads as a market factor). Factor series: for week t,
the cross-sectional least-squares fit of the observed demeaned returns on the loadings of the observed
coins, ``f_t = (L_o' L_o)^{-1} L_o' (r_{t,o} - mu_o)`` (batched over weeks); on a complete panel this is
``L' (r_t - mu)`` = ``sklearn.decomposition.PCA.transform``. Variance explained: eigenvalue / sum of
(non-negative) eigenvalues of the covariance (the EM panel's covariance for ``"em"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def pairwise_covariance(R: np.ndarray) -> np.ndarray:
    """Pairwise-complete covariance (ddof 1) with masked matrix products, no loop over pairs.

    With mask ``M`` and ``R0`` = returns with NaN -> 0: ``n = M'M``, ``P = R0'R0``,
    ``S_ij = sum_{t: both} r_ti = (R0'M)_ij``; ``cov_ij = (P_ij - S_ij S_ji / n_ij) / (n_ij - 1)``.
    Pairs with fewer than two common weeks are NaN.
    """
    R = np.asarray(R, dtype=float)
    M = (~np.isnan(R)).astype(float)
    R0 = np.where(M > 0, R, 0.0)
    n = M.T @ M
    S = R0.T @ M
    P = R0.T @ R0
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = (P - S * S.T / n) / (n - 1)
    cov[n < 2] = np.nan
    return cov


@dataclass(frozen=True)
class PCAResult:
    method: str
    symbols: tuple[str, ...]
    periods: np.ndarray
    eigenvalues: np.ndarray  # (k,) variance of each component
    explained_ratio: np.ndarray  # (k,)
    loadings: pd.DataFrame  # (N, k), index symbol, columns pc1..pck
    factors: pd.DataFrame  # (T, k), index period
    mean: np.ndarray  # (N,)
    n_iter: int
    converged: bool

    def explained_table(self) -> pd.DataFrame:
        return pd.DataFrame({"component": list(self.loadings.columns), "eigenvalue": self.eigenvalues,
                             "explained_ratio": self.explained_ratio,
                             "cumulative_ratio": np.cumsum(self.explained_ratio)})


def _top_eigen(C: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    w, V = np.linalg.eigh(C)
    order = np.argsort(w)[::-1]
    w, V = w[order], V[:, order]
    total = float(np.sum(w[w > 0]))
    return w[:k], V[:, :k], total


def _fix_signs(V: np.ndarray) -> np.ndarray:
    s = np.sign(V.sum(axis=0))
    s[s == 0] = 1.0
    return V * s


def _scores(R: np.ndarray, mean: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Per-week cross-sectional LS of observed demeaned returns on the observed coins' loadings."""
    M = ~np.isnan(R)
    D = np.where(M, R - mean, 0.0)
    A = np.einsum("tn,nk,nl->tkl", M.astype(float), L, L)  # L_o' L_o per week
    b = D @ L
    k = L.shape[1]
    ok = M.sum(axis=1) >= k
    out = np.full((R.shape[0], k), np.nan)
    if ok.any():
        out[ok] = np.linalg.solve(A[ok], b[ok][:, :, None])[:, :, 0]
    return out


def pca_factors(returns: pd.DataFrame, n_components: int = 3, method: str = "em", tol: float = 1e-8,
                max_iter: int = 500, min_obs: int = 10) -> PCAResult:
    """PCA factors of a wide (T x N) return frame (index = period, columns = symbols, NaN = missing).

    Coins with fewer than ``min_obs`` observed weeks are dropped first (their moments are noise).
    """
    wide = returns.loc[:, returns.notna().sum() >= min_obs]
    R = wide.to_numpy(dtype=float)
    k = int(n_components)
    if k > R.shape[1]:
        raise ValueError(f"n_components={k} > number of coins {R.shape[1]}")
    miss = np.isnan(R)
    n_iter, converged = 0, True
    if method == "pairwise":
        mean = np.nanmean(R, axis=0)
        w, V, total = _top_eigen(pairwise_covariance(R), k)
    elif method == "em":
        mean = np.nanmean(R, axis=0)
        X = np.where(miss, mean, R)
        converged = not miss.any()
        while miss.any() and n_iter < max_iter:
            mu = X.mean(axis=0)
            _, V = _top_eigen(np.cov(X, rowvar=False), k)[:2]
            recon = mu + ((X - mu) @ V) @ V.T
            step = np.abs(recon[miss] - X[miss]).max() / max(np.abs(X[miss]).max(), 1e-300)
            X[miss] = recon[miss]
            n_iter += 1
            if step < tol:
                converged = True
                break
        mean = X.mean(axis=0)
        w, V, total = _top_eigen(np.cov(X, rowvar=False), k)
    else:
        raise ValueError(f"method must be 'em' or 'pairwise', not {method!r}")
    V = _fix_signs(V)
    cols = [f"pc{j + 1}" for j in range(k)]
    F = _scores(R, mean, V)
    return PCAResult(method=method, symbols=tuple(map(str, wide.columns)), periods=wide.index.to_numpy(),
                     eigenvalues=w, explained_ratio=w / total,
                     loadings=pd.DataFrame(V, index=wide.columns, columns=cols),
                     factors=pd.DataFrame(F, index=wide.index, columns=cols), mean=mean,
                     n_iter=n_iter, converged=converged)


def factor_correlations(pca: PCAResult, given: pd.DataFrame,
                        columns: Sequence[str] = ("cmkt", "csmb", "cmom")) -> pd.DataFrame:
    """Pearson correlation of each PCA factor with the given factors over their common periods
    (``given`` indexed by period). Rows: components; columns: given factors; plus ``n_periods``."""
    joined = pca.factors.join(given[list(columns)], how="inner").dropna()
    corr = joined.corr().loc[list(pca.factors.columns), list(columns)]
    corr["n_periods"] = len(joined)
    return corr
