"""Rolling-window OLS betas, vectorised across coins and windows (the baseline for the neural betas).

For each coin ``i`` and month ``t`` the regression ``y_{i,s} = a + b' x_{i,s} + e`` is fitted on the
months ``s`` of the window ending at ``t`` (``t - window + 1 .. t``) with pairwise-complete rows only
(the statsmodels ``RollingOLS(missing="drop")`` convention; ``missing="skip"`` is wrong after the first
skipped window, see methodology notes). Windows with fewer than ``min_obs`` complete rows, or with a
rank-deficient design, are NaN.

``ex_ante=True`` shifts the result by one month, so the beta labelled ``t`` uses months ``t-window ..
t-1`` only: the beta known when month ``t`` starts (the label convention of every beta panel here).
All windows are summed at once with ``sliding_window_view`` (no per-window Python loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from cryptofactor_assets.neural.params import OLS_WINDOW


@dataclass(frozen=True)
class RollingOLSResult:
    """``params[t, i, :] = (a, b_1..b_P)`` for the window labelled ``t``; ``nobs[t, i]`` rows used."""

    params: np.ndarray  # (T, N, P + 1)
    nobs: np.ndarray  # (T, N)
    window: int
    ex_ante: bool


def rolling_ols(
    y: np.ndarray, x: np.ndarray, window: int, min_obs: int | None = None, ex_ante: bool = True,
    cond_max: float = 1e12,
) -> RollingOLSResult:
    """Rolling OLS with intercept of ``y (T, N)`` on ``x (T, P)`` (shared regressors) or ``(T, N, P)``.

    Normal equations per window: ``(Z'Z) theta = Z'y`` with ``Z = [1, x]``; the windowed cross-products
    are sums over a strided window view, solved in one batched ``numpy.linalg.solve``.
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    t_len, n = y.shape
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim == 2:
        x = np.broadcast_to(x[:, None, :], (t_len, n, x.shape[1]))
    p1 = x.shape[2] + 1
    min_obs = window if min_obs is None else min_obs
    if min_obs < p1:
        raise ValueError(f"min_obs={min_obs} < number of parameters {p1}")

    z = np.concatenate([np.ones((t_len, n, 1)), x], axis=2)  # (T, N, P1)
    ok = np.isfinite(y) & np.isfinite(z).all(axis=2)
    zm = np.where(ok[..., None], z, 0.0)
    ym = np.where(ok, y, 0.0)
    zz = zm[..., :, None] * zm[..., None, :]  # (T, N, P1, P1)
    zy = zm * ym[..., None]  # (T, N, P1)

    params = np.full((t_len, n, p1), np.nan)
    nobs = np.zeros((t_len, n), dtype=int)
    if t_len >= window:
        # Sum each window along time (window axis is appended last by sliding_window_view).
        szz = sliding_window_view(zz, window, axis=0).sum(axis=-1)  # (T-w+1, N, P1, P1)
        szy = sliding_window_view(zy, window, axis=0).sum(axis=-1)
        cnt = sliding_window_view(ok, window, axis=0).sum(axis=-1)
        cond = np.linalg.cond(szz)
        good = (cnt >= min_obs) & np.isfinite(cond) & (cond < cond_max)
        eye = np.broadcast_to(np.eye(p1), szz.shape)
        sol = np.linalg.solve(np.where(good[..., None, None], szz, eye), szy[..., None])[..., 0]
        params[window - 1 :] = np.where(good[..., None], sol, np.nan)
        nobs[window - 1 :] = cnt
    if ex_ante:
        params = np.concatenate([np.full((1, n, p1), np.nan), params[:-1]], axis=0)
        nobs = np.concatenate([np.zeros((1, n), dtype=int), nobs[:-1]], axis=0)
    return RollingOLSResult(params=params, nobs=nobs, window=window, ex_ante=ex_ante)


@dataclass(frozen=True)
class BetaPanel:
    """Ex-ante conditional betas: ``betas[t, i, k]`` is coin ``i``'s beta to market ``k`` for month ``t``,
    computed from data up to month ``t-1``.

    ``joint=False``: one single-market model per market, ``alphas[t, i, k]`` its intercept;
    ``joint=True``: one model on all markets together, ``alphas[t, i, 0]`` its intercept.
    """

    months: pd.DatetimeIndex
    coins: tuple[str, ...]
    markets: tuple[str, ...]
    betas: np.ndarray  # (T, N, K)
    alphas: np.ndarray  # (T, N, K) or (T, N, 1)
    method: str
    joint: bool
    window: int
    spread: np.ndarray | None = None  # (T, N, K) seed spread of an ensemble's betas (neural panels)

    def frame(self, market: str) -> pd.DataFrame:
        """Month x coin betas to one market."""
        k = self.markets.index(market)
        return pd.DataFrame(self.betas[:, :, k], index=self.months, columns=list(self.coins))

    def long(self) -> pd.DataFrame:
        """Tidy rows ``month, coin, market, beta, method, model`` (NaN betas dropped)."""
        t, n, k = self.betas.shape
        idx = pd.MultiIndex.from_product([self.months, self.coins, self.markets],
                                         names=["month", "coin", "market"])
        out = pd.DataFrame({"beta": self.betas.reshape(-1)}, index=idx).reset_index()
        out["method"] = self.method
        out["model"] = "joint" if self.joint else "single"
        return out.dropna(subset=["beta"]).reset_index(drop=True)

    def forecast(self, market_returns: pd.DataFrame) -> np.ndarray:
        """Return forecasts ``alpha_t + beta_t' f_t`` with the realised market returns of month ``t``.

        Single-market panels give ``(T, N, K)`` (one forecast per market model), joint ones ``(T, N)``.
        """
        f = market_returns.loc[self.months, list(self.markets)].to_numpy(float)  # (T, K)
        if self.joint:
            return self.alphas[:, :, 0] + np.einsum("tik,tk->ti", self.betas, f)
        return self.alphas + self.betas * f[:, None, :]


def rolling_ols_betas(
    coin_returns: pd.DataFrame,
    market_returns: pd.DataFrame,
    markets: Sequence[str] | None = None,
    window: int = OLS_WINDOW,
    min_obs: int | None = None,
    joint: bool = False,
) -> BetaPanel:
    """Ex-ante rolling-OLS betas of every coin to each market (``joint=False``: one univariate
    regression per market) or to all markets at once (``joint=True``: multivariate regression)."""
    markets = tuple(markets or market_returns.columns)
    months = coin_returns.index
    y = coin_returns.to_numpy(float)
    f = market_returns.reindex(months)[list(markets)].to_numpy(float)
    t_len, n = y.shape
    if joint:
        res = rolling_ols(y, f, window, min_obs)
        betas, alphas = res.params[..., 1:], res.params[..., :1]
    else:
        betas = np.empty((t_len, n, len(markets)))
        alphas = np.empty_like(betas)
        for k in range(len(markets)):  # loop over the (few) markets only; windows are vectorised
            res = rolling_ols(y, f[:, k], window, min_obs)
            alphas[:, :, k], betas[:, :, k] = res.params[..., 0], res.params[..., 1]
    return BetaPanel(months=months, coins=tuple(coin_returns.columns), markets=markets, betas=betas,
                     alphas=alphas, method=f"rolling_ols_{window}", joint=joint, window=window)
