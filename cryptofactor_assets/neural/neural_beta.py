"""Neural conditional betas of coins to traditional markets, walk-forward (numerics in ``beta_net``).

Formulation (a conditional-beta factor model with the beta a neural function of lagged information,
as in Gu, Kelly & Xiu 2021, "Autoencoder asset pricing models", J. Econometrics 222(1), eq. 3):

    r_{i,t} = a_i + sum_k g_k(x_{i,t-1}) f_{k,t} + e_{i,t},

``g`` a one-hidden-layer network whose K outputs are the betas, fitted by least squares on the return
in one optimisation (``beta_net.fit_beta_net``: one loss for all K markets, full-batch Adam, an
ensemble over seeds). The single-market model is ``K = 1`` (one network per market; the other markets,
orthogonalised on it, enter as controls whose nuisance betas are dropped: ``beta_net.model_factors``),
the joint model ``K = 4``. Inputs ``x_{i,t-1}`` (``beta_net.beta_features``): the 12-month window of the coin and the
markets, state variables (trailing market volatility and correlation), the coin's expanding-window
slope, optionally the Fama-French factors and the raw lags.

Walk-forward, no look-ahead: the network that gives the beta for month ``t`` is trained on targets
``s <= t_0 - 1`` (windows ending at ``s - 1``), standardised with statistics of months ``< t_0``,
where ``t_0 <= t`` is the latest refit month; the window fed to it ends at ``t - 1``. The arrays are
sliced before month ``t``: data of month ``t`` and later is never in the computation. One pooled
network for all coins (each coin standardised by its own statistics). Deterministic: ``random_state``
fixes the ensemble's initial weights. Missing months are not filled: a window or target touching a
NaN is left out (beta NaN).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from cryptofactor_assets.neural.baseline import BetaPanel
from cryptofactor_assets.neural.beta_net import ACTIVATIONS, DEFAULT_INPUTS, NetConfig, refit_betas
from cryptofactor_assets.neural.params import LOOKBACK, MIN_TRAIN

__all__ = ["ACTIVATIONS", "NetConfig", "implied_from_history", "implied_univariate_betas", "neural_betas_asof",
           "walk_forward_neural_betas"]


def _arrays(coin_returns: pd.DataFrame, market_returns: pd.DataFrame, markets: Sequence[str],
            ff5: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    r = coin_returns.to_numpy(float)
    f = market_returns.reindex(coin_returns.index)[list(markets)].to_numpy(float)
    ff = None if ff5 is None else ff5.reindex(coin_returns.index).to_numpy(float)
    return r, f, ff


def walk_forward_neural_betas(
    coin_returns: pd.DataFrame,
    market_returns: pd.DataFrame,
    markets: Sequence[str] | None = None,
    joint: bool = False,
    lookback: int = LOOKBACK,
    min_train: int = MIN_TRAIN,
    refit_every: int = 1,
    config: NetConfig | None = None,
    configs: dict[str, NetConfig] | None = None,
    inputs: str = DEFAULT_INPUTS,
    ff5: pd.DataFrame | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BetaPanel:
    """Ex-ante neural betas for every month with enough history (see the module docstring).

    ``joint=False``: one ``K = 1`` network per market; ``joint=True``: one network on all ``markets``.
    ``configs`` maps a market (or ``"JOINT"``) to its own config (e.g. the grid winners); otherwise
    ``config``. Every market's window enters the inputs of every model. ``refit_every=k`` retrains every
    ``k`` months. The first beta is for month ``lookback + min_train``. ``ff5``: Fama-French factors
    (month x 5) for ``inputs`` with the ``ff5`` block. ``progress(done, total)`` after every refit.
    The seed spread of the ensemble is in ``BetaPanel.spread``.
    """
    config = config or NetConfig()
    markets = tuple(markets or market_returns.columns)
    r, f, ff = _arrays(coin_returns, market_returns, markets, ff5)
    t_len, n = r.shape
    k_all = len(markets)
    betas = np.full((t_len, n, k_all), np.nan)
    spread = np.full_like(betas, np.nan)
    alphas = np.full((t_len, n, 1 if joint else k_all), np.nan)
    first = lookback + min_train
    groups = [list(range(k_all))] if joint else [[k] for k in range(k_all)]
    for t0 in range(first, t_len, refit_every):
        targets = list(range(t0, min(t0 + refit_every, t_len)))
        end = targets[-1]  # rows up to end-1 are all the block may see
        for grp in groups:
            cfg = (configs or {}).get("JOINT" if joint else markets[grp[0]], config)
            res = refit_betas(r[:end], f[:end], t0, targets, grp, cfg, lookback, min_train, inputs,
                              None if ff is None else ff[:end])
            betas[targets[0]: end + 1][:, :, grp] = res.betas
            spread[targets[0]: end + 1][:, :, grp] = res.spread
            alphas[targets[0]: end + 1, :, 0 if joint else grp[0]] = res.alphas
        if progress is not None:
            progress(end + 1 - first, t_len - first)
    return BetaPanel(months=coin_returns.index, coins=tuple(coin_returns.columns), markets=markets,
                     betas=betas, alphas=alphas, method=f"neural_mlp_{lookback}m", joint=joint, window=lookback,
                     spread=spread)


def neural_betas_asof(
    coin_returns: pd.DataFrame,
    market_returns: pd.DataFrame,
    asof: str | pd.Timestamp,
    markets: Sequence[str] | None = None,
    joint: bool = False,
    lookback: int = LOOKBACK,
    min_train: int = MIN_TRAIN,
    config: NetConfig | None = None,
    configs: dict[str, NetConfig] | None = None,
    inputs: str = DEFAULT_INPUTS,
) -> pd.DataFrame:
    """Betas for the month after ``asof`` from data up to ``asof`` (one monthly partition's work).

    Equals row ``asof + 1 month`` of :func:`walk_forward_neural_betas` with ``refit_every=1``.
    Returns a coin x market frame (NaN where history is too short); ``attrs["month"]`` is the target.
    """
    config = config or NetConfig()
    markets = tuple(markets or market_returns.columns)
    asof = pd.Timestamp(asof)
    hist = coin_returns.loc[:asof]
    r, f, _ = _arrays(hist, market_returns, markets, None)
    t0 = len(hist)
    out = np.full((len(hist.columns), len(markets)), np.nan)
    if t0 >= lookback + min_train:
        groups = [list(range(len(markets)))] if joint else [[k] for k in range(len(markets))]
        for grp in groups:
            cfg = (configs or {}).get("JOINT" if joint else markets[grp[0]], config)
            # The target row t0 is one past the history: refit_betas only reads the window ending at t0-1.
            res = refit_betas(np.vstack([r, np.full((1, r.shape[1]), np.nan)]),
                              np.vstack([f, np.full((1, f.shape[1]), np.nan)]), t0, [t0], grp, cfg,
                              lookback, min_train, inputs)
            out[:, grp] = res.betas[0]
    frame = pd.DataFrame(out, index=pd.Index(hist.columns, name="coin"), columns=list(markets))
    frame.attrs["month"] = asof + pd.offsets.MonthBegin(1)
    return frame


def implied_from_history(joint_betas: np.ndarray, market_history: np.ndarray) -> np.ndarray:
    """Single-market betas implied by joint ones: ``b_uni[i, k] = sum_j B[i, j] S_jk / S_kk``.

    ``S`` is the sample covariance of ``market_history (t, K)`` (the months before the beta's month:
    ex ante); the omitted-variable algebra of a univariate regression (the slope of r on f_k when r
    loads on every market). ``joint_betas (N, K)`` -> ``(N, K)``; NaN with fewer than 3 complete months.
    """
    hist = market_history[np.isfinite(market_history).all(axis=1)]
    if len(hist) < 3:
        return np.full_like(joint_betas, np.nan)
    s = np.atleast_2d(np.cov(hist.T))
    return joint_betas @ (s / np.diag(s)[None, :])


def implied_univariate_betas(joint_betas: np.ndarray, market_returns: np.ndarray, first: int) -> np.ndarray:
    """:func:`implied_from_history` for every month ``t >= first`` (covariance of months ``< t``)."""
    out = np.full_like(joint_betas, np.nan)
    for t in range(first, joint_betas.shape[0]):  # one K x K covariance per month (K = 4): cheap
        out[t] = implied_from_history(joint_betas[t], market_returns[:t])
    return out
