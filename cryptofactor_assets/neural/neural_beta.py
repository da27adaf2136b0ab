"""Neural conditional betas of coins to traditional markets (scikit-learn ``MLPRegressor``).

Formulation (a conditional-beta factor model with the beta a neural function of lagged information,
as in Gu, Kelly & Xiu 2021, "Autoencoder asset pricing models", J. Econometrics 222(1), eq. 3, where
``r_{i,t} = beta(z_{i,t-1})' f_t + e``; here ``z`` is the coin's own 12-month look-back window):

    r_t = a + beta_t f_t + e_t,          beta_t = g(x_{t-1}),

with ``x_{t-1}`` the look-back window of the past ``L`` (=12) months ``t-L .. t-1``: the coin's
standardised returns, the market's standardised returns and their products ``r f`` (the building
blocks of a window covariance, so the network can weight recent months more than an equal-weight
rolling OLS does). ``g`` is an MLP with one hidden layer.

Fitting ``g`` with ``MLPRegressor`` is exact, not an approximation: the least-squares problem
``min_g sum_t (r_t - g(x_{t-1}) f_t)^2`` equals ``min_g sum_t f_t^2 (r_t / f_t - g(x_{t-1}))^2``,
i.e. a regression of the target ``r_t / f_t`` on ``x_{t-1}`` with sample weights ``f_t^2``
(``MLPRegressor.fit(..., sample_weight=...)``, scikit-learn >= 1.7). Months with ``f_t = 0`` carry no
information about beta (weight 0) and are dropped. The intercept ``a`` is constant: returns and market
are demeaned (and scaled) with the training sample's mean and standard deviation, then
``beta = g * sd_r / sd_f`` and ``a = mean_r - beta mean_f``.

Joint model (FIAT+EQUITY+GOLD+ENERGY together): ``r_t = a + sum_k g_k(x_{t-1}) f_{k,t}`` with ``x`` the
window of the coin and all markets. ``MLPRegressor`` has a single scalar loss per output, so the sum is
fitted by backfitting (Hastie & Tibshirani 1993, "Varying-coefficient models", JRSS B 55(4)): each
``g_k`` is refitted, with the same weighted-target trick, on the partial residual
``r - sum_{j != k} g_j f_j``; ``n_backfit`` passes, warm-started.

Walk-forward, no look-ahead: the model that produces the beta for month ``t`` is trained on targets
``s <= t_0 - 1`` with windows ending at ``s - 1``, standardised with statistics of months ``< t_0``,
where ``t_0 <= t`` is the latest refit month (``refit_every=1``: retrained every month); the window fed
to it ends at ``t - 1``. Data of month ``t`` and later is never sliced into the computation.
Deterministic: ``random_state`` fixes the initial weights and the mini-batch order.
Missing months are not filled: any window or target touching a NaN is left out (beta NaN).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    from sklearn.neural_network import MLPRegressor

from cryptofactor_assets.neural.baseline import BetaPanel
from cryptofactor_assets.neural.params import LOOKBACK, MIN_TRAIN, N_BACKFIT

ACTIVATIONS: tuple[str, ...] = ("identity", "logistic", "tanh", "relu")


@dataclass(frozen=True)
class MLPConfig:
    """One-hidden-layer MLP settings (``l2`` is scikit-learn's ``alpha``)."""

    hidden: int = 8
    learning_rate: float = 0.01
    activation: str = "tanh"
    l2: float = 1e-2
    max_iter: int = 150
    random_state: int = 0

    def regressor(self, warm_start: bool = False, max_iter: int | None = None) -> MLPRegressor:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}")
        # scikit-learn is imported on first use, not with the code location (run workers start faster)
        from sklearn.neural_network import MLPRegressor

        return MLPRegressor(
            hidden_layer_sizes=(self.hidden,), activation=self.activation, solver="adam",
            alpha=self.l2, learning_rate_init=self.learning_rate,
            max_iter=self.max_iter if max_iter is None else max_iter,
            random_state=self.random_state, tol=1e-6, n_iter_no_change=20, warm_start=warm_start,
        )


@dataclass(frozen=True)
class _Prepared:
    """Standardised data and the window features for one refit (stats from months ``< t0``)."""

    x: np.ndarray  # (T, N, D): features of the window ending at row t (NaN rows where incomplete)
    r: np.ndarray  # (T, N) standardised returns
    f: np.ndarray  # (T, M) standardised market returns
    r_mean: np.ndarray
    r_sd: np.ndarray
    f_mean: np.ndarray
    f_sd: np.ndarray


HORIZONS: tuple[int, ...] = (3, 6, 12)


def window_features(r_std: np.ndarray, f_std: np.ndarray, lookback: int,
                    horizons: Sequence[int] = HORIZONS) -> np.ndarray:
    """Summary features of the look-back window ending at each month ``t`` (months ``t-L+1 .. t``).

    For each market ``m`` and horizon ``h`` (the last ``h`` months of the window, ``h <= L``):
    ``c = mean(r f_m)``, ``v = mean(f_m^2)`` (window second moments of the standardised series) and
    the slope ``b = c / v`` clipped to ``[-5, 5]`` (a short-window OLS slope through the origin can
    explode when the market barely moved). Short horizons let the network react to a regime switch
    faster than an equal-weight 12-month regression; long ones give it a low-noise anchor.
    Raw 12-month windows (24+ inputs for ~100 monthly samples) were tried first and over-fit badly.

    ``r_std (T, N)``, ``f_std (T, M)`` -> ``(T, N, 3 M |horizons|)``; rows ``t < L-1`` NaN.
    Vectorised across coins and months with ``sliding_window_view`` (window axis last, oldest first).
    """
    t_len, n = r_std.shape
    m = f_std.shape[1]
    hs = [h for h in horizons if h <= lookback] or [lookback]
    d = 3 * m * len(hs)
    out = np.full((t_len, n, d), np.nan)
    if t_len < lookback:
        return out
    rw = sliding_window_view(r_std, lookback, axis=0)  # (W, N, L), W = T-L+1
    fw = sliding_window_view(f_std, lookback, axis=0)  # (W, M, L)
    pw = rw[:, :, None, :] * fw[:, None, :, :]  # (W, N, M, L): r f per month
    qw = fw * fw  # (W, M, L)
    feats = []
    for h in hs:
        c = pw[..., lookback - h :].mean(axis=-1)  # (W, N, M)
        v = np.broadcast_to(qw[:, None, :, lookback - h :].mean(axis=-1), c.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.clip(c / v, -5.0, 5.0)
        feats += [c, v, b]
    out[lookback - 1 :] = np.concatenate(feats, axis=2)
    return out


def _prepare(r_raw: np.ndarray, f_raw: np.ndarray, t0: int, lookback: int) -> _Prepared:
    """Standardise with the statistics of rows ``[:t0]`` only (the training months)."""
    r_mean = np.nanmean(r_raw[:t0], axis=0)
    r_sd = np.nanstd(r_raw[:t0], axis=0, ddof=1)
    f_mean = np.nanmean(f_raw[:t0], axis=0)
    f_sd = np.nanstd(f_raw[:t0], axis=0, ddof=1)
    r = (r_raw - r_mean) / r_sd
    f = (f_raw - f_mean) / f_sd
    return _Prepared(window_features(r, f, lookback), r, f, r_mean, r_sd, f_mean, f_sd)


def _fit_nets(x: np.ndarray, r: np.ndarray, f: np.ndarray, cfg: MLPConfig, n_backfit: int
              ) -> list[MLPRegressor]:
    """Fit ``g_1..g_M`` of ``r = sum_k g_k(x) f_k`` (M=1: one weighted regression; M>1: backfitting)."""
    m = f.shape[1]
    from sklearn.exceptions import ConvergenceWarning

    nets: list[MLPRegressor] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if m == 1:
            keep = f[:, 0] != 0.0
            net = cfg.regressor()
            net.fit(x[keep], r[keep] / f[keep, 0], sample_weight=f[keep, 0] ** 2)
            return [net]
        fitted = np.zeros((len(r), m))  # g_k(x) on the training rows; 0 before a net exists
        nets = [cfg.regressor(warm_start=True) for _ in range(m)]
        for _ in range(n_backfit):
            for k in range(m):
                # Partial residual of market k: what the other markets' current betas leave unexplained.
                part = r - (fitted * f).sum(axis=1) + fitted[:, k] * f[:, k]
                keep = f[:, k] != 0.0
                nets[k].fit(x[keep], part[keep] / f[keep, k], sample_weight=f[keep, k] ** 2)
                fitted[:, k] = nets[k].predict(x)
    return nets


def refit_block(
    r_raw: np.ndarray, f_raw: np.ndarray, t0: int, targets: Sequence[int], lookback: int,
    min_train: int, cfg: MLPConfig, n_backfit: int, pooled: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Train on targets ``< t0`` and predict betas for ``targets`` (all ``>= t0``).

    ``r_raw (T, N)``, ``f_raw (T, M)`` must not extend past ``max(targets) - 1``: the callers slice, so
    no later month can reach the model. ``pooled``: one network (set) shared by all coins, trained on
    the stacked coin-months (each coin standardised by its own statistics); otherwise one per coin.
    Returns betas ``(len(targets), N, M)`` and alphas ``(len(targets), N)`` in raw units.
    """
    n, m = r_raw.shape[1], f_raw.shape[1]
    betas = np.full((len(targets), n, m), np.nan)
    alphas = np.full((len(targets), n), np.nan)
    prep = _prepare(r_raw, f_raw, t0, lookback)
    s = np.arange(lookback, t0)  # candidate training targets; their windows end at row s-1
    xs, rs = prep.x[s - 1], prep.r[s]  # (S, N, D), (S, N)
    fs = np.broadcast_to(prep.f[s][:, None, :], (len(s), n, m))  # (S, N, M)
    ok = np.isfinite(xs).all(axis=2) & np.isfinite(rs) & np.isfinite(fs).all(axis=2)  # (S, N)
    usable = np.isfinite(prep.r_sd) & (prep.r_sd > 0) & (ok.sum(axis=0) >= min_train)
    xp = prep.x[np.asarray(targets) - 1]  # (len(targets), N, D): windows ending at t-1
    good = np.isfinite(xp).all(axis=2) & usable  # (len(targets), N)
    g = np.full((len(targets), n, m), np.nan)  # standardised betas
    if pooled:
        sel = ok & usable  # stack every usable coin-month
        if sel.any() and good.any():
            nets = _fit_nets(xs[sel], rs[sel], fs[sel], cfg, n_backfit)
            g[good] = np.column_stack([net.predict(xp[good]) for net in nets])
    else:
        for i in np.flatnonzero(usable & good.any(axis=0)):  # one network (set) per coin
            nets = _fit_nets(xs[ok[:, i], i], rs[ok[:, i], i], fs[ok[:, i], i],
                             replace(cfg, random_state=cfg.random_state + int(i)), n_backfit)
            g[good[:, i], i] = np.column_stack([net.predict(xp[good[:, i], i]) for net in nets])
    betas = g * (prep.r_sd[:, None] / prep.f_sd[None, :])  # back to raw units
    alphas = prep.r_mean - (betas * prep.f_mean).sum(axis=2)
    return betas, alphas


def _arrays(coin_returns: pd.DataFrame, market_returns: pd.DataFrame, markets: Sequence[str]
            ) -> tuple[np.ndarray, np.ndarray]:
    r = coin_returns.to_numpy(float)
    f = market_returns.reindex(coin_returns.index)[list(markets)].to_numpy(float)
    return r, f


def walk_forward_neural_betas(
    coin_returns: pd.DataFrame,
    market_returns: pd.DataFrame,
    markets: Sequence[str] | None = None,
    joint: bool = False,
    lookback: int = LOOKBACK,
    min_train: int = MIN_TRAIN,
    refit_every: int = 1,
    config: MLPConfig | None = None,
    n_backfit: int = N_BACKFIT,
    configs: dict[str, MLPConfig] | None = None,
    pooled: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> BetaPanel:
    """Ex-ante neural betas for every month with enough history (walk-forward, see module docstring).

    ``joint=False``: one single-market network per coin and market; ``joint=True``: the backfitted
    joint model on all ``markets``. ``configs`` maps a market (or ``"JOINT"``) to its own config, e.g.
    the grid-search winners; otherwise ``config`` is used everywhere. ``refit_every=k`` retrains every
    ``k`` months (faster; still no look-ahead). The first beta is for month ``lookback + min_train``.
    ``progress(done, total)`` (optional, e.g. a ``cryptofactor_assets.progress.Progress``) is called
    after every refit with the months done of the months to estimate.
    """
    config = config or MLPConfig()
    markets = tuple(markets or market_returns.columns)
    r, f = _arrays(coin_returns, market_returns, markets)
    t_len, n = r.shape
    betas = np.full((t_len, n, len(markets)), np.nan)
    alphas = np.full((t_len, n, 1 if joint else len(markets)), np.nan)
    first = lookback + min_train
    groups = [list(range(len(markets)))] if joint else [[k] for k in range(len(markets))]
    for t0 in range(first, t_len, refit_every):
        targets = list(range(t0, min(t0 + refit_every, t_len)))
        end = targets[-1]  # rows up to end-1 are all the block may see
        for grp in groups:
            key = "JOINT" if joint else markets[grp[0]]
            cfg = (configs or {}).get(key, config)
            b, a = refit_block(r[:end], f[:end, grp], t0, targets, lookback, min_train, cfg, n_backfit,
                                  pooled)
            betas[targets[0] : end + 1][:, :, grp] = b
            if joint:
                alphas[targets[0] : end + 1, :, 0] = a
            else:
                alphas[targets[0] : end + 1, :, grp[0]] = a
        if progress is not None:
            progress(end + 1 - first, t_len - first)
    method = f"neural_mlp_{lookback}m"
    return BetaPanel(months=coin_returns.index, coins=tuple(coin_returns.columns), markets=markets,
                     betas=betas, alphas=alphas, method=method, joint=joint, window=lookback)


def neural_betas_asof(
    coin_returns: pd.DataFrame,
    market_returns: pd.DataFrame,
    asof: str | pd.Timestamp,
    markets: Sequence[str] | None = None,
    joint: bool = False,
    lookback: int = LOOKBACK,
    min_train: int = MIN_TRAIN,
    config: MLPConfig | None = None,
    n_backfit: int = N_BACKFIT,
    configs: dict[str, MLPConfig] | None = None,
    pooled: bool = True,
) -> pd.DataFrame:
    """Betas for the month after ``asof`` from data up to ``asof`` (one monthly partition's work).

    Trains on every month up to ``asof`` and applies the network to the window ending at ``asof``.
    Equals row ``asof + 1 month`` of :func:`walk_forward_neural_betas` with ``refit_every=1``.
    Returns a coin x market frame (NaN where history is too short); ``attrs["month"]`` is the target.
    """
    config = config or MLPConfig()
    markets = tuple(markets or market_returns.columns)
    asof = pd.Timestamp(asof)
    hist = coin_returns.loc[:asof]
    r, f = _arrays(hist, market_returns, markets)
    t0 = len(hist)
    out = np.full((len(hist.columns), len(markets)), np.nan)
    if t0 >= lookback + min_train:
        groups = [list(range(len(markets)))] if joint else [[k] for k in range(len(markets))]
        for grp in groups:
            cfg = (configs or {}).get("JOINT" if joint else markets[grp[0]], config)
            b, _ = refit_block(r, f[:, grp], t0, [t0], lookback, min_train, cfg, n_backfit,
                                  pooled)
            out[:, grp] = b[0]
    frame = pd.DataFrame(out, index=pd.Index(hist.columns, name="coin"), columns=list(markets))
    frame.attrs["month"] = asof + pd.offsets.MonthBegin(1)
    return frame
