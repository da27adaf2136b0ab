"""Conditional-beta networks fitted by least squares on the return, in one optimisation (pure numpy).

Model (Gu, Kelly & Xiu 2021, "Autoencoder asset pricing models", J. Econometrics 222(1), eq. 3, the
beta side; the factors here are observed market returns):

    r_{i,t} = c + sum_k g_k(x_{i,t-1}) f_{k,t} + e_{i,t},

with ``g: R^D -> R^K`` a one-hidden-layer network whose K outputs are the betas, ``x_{i,t-1}`` the
coin's and the markets' information up to month ``t-1`` (:func:`beta_features`) and ``r``, ``f``
standardised with training statistics (``c`` absorbs what the per-coin demeaning leaves). One loss for
all K markets:

    L(theta) = mean_{i,t} (r_{i,t} - c - g(x_{i,t-1})' f_t)^2 + l2 (||W_1||^2 + ||W_2||^2),

minimised by full-batch Adam (Kingma & Ba 2015) with hand-written gradients (tested against central
finite differences). A single-market model is the ``K = 1`` case of the same code. ``n_seeds``
networks (different initial weights) are trained at once along a leading "seed" axis of every weight
array (vectorised: one einsum per layer for the whole ensemble); the beta is the ensemble mean and the
seed spread (standard deviation across members) is returned beside it.

The last layer's bias starts at the pooled least-squares slope of ``r`` on ``f`` (the constant-beta
solution), so an untrained or heavily penalised network falls back to a pooled constant beta rather
than to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ACTIVATIONS: tuple[str, ...] = ("identity", "logistic", "tanh", "relu")
#: Horizons (months, the end of the look-back window) of the window moments.
HORIZONS: tuple[int, ...] = (3, 6, 12)
#: Input blocks (``beta_features``), joined with "+" in a model's ``inputs``.
INPUT_BLOCKS: tuple[str, ...] = ("moments", "state", "market_state", "anchor", "ff5", "lags")
DEFAULT_INPUTS = "state+anchor"
#: Inputs are z-scored with training statistics and clipped here.
CLIP_Z = 4.0


@dataclass(frozen=True)
class NetConfig:
    """Network and optimiser settings (``epochs`` full-batch Adam steps; ``n_seeds`` ensemble members)."""

    hidden: int = 8
    learning_rate: float = 0.003
    activation: str = "tanh"
    l2: float = 0.1
    epochs: int = 300
    n_seeds: int = 5
    random_state: int = 0
    val_fraction: float = 0.2  # latest share of the training months held out for early stopping

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.hidden < 1 or self.epochs < 1 or self.n_seeds < 1:
            raise ValueError("hidden, epochs and n_seeds must be >= 1")


def _activate(z: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Activation and its derivative at ``z``."""
    if name == "identity":
        return z, np.ones_like(z)
    if name == "tanh":
        a = np.tanh(z)
        return a, 1.0 - a * a
    if name == "logistic":
        a = 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free sigmoid
        return a, a * (1.0 - a)
    a = np.maximum(z, 0.0)
    return a, (z > 0.0).astype(z.dtype)


@dataclass
class BetaNet:
    """Weights of an ensemble: ``w1 (S, D, H)``, ``b1 (S, H)``, ``w2 (S, H, K)``, ``b2 (S, K)``, ``c (S,)``;
    inputs are standardised with ``x_mean``, ``x_sd`` (training statistics)."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    c: np.ndarray
    activation: str
    x_mean: np.ndarray
    x_sd: np.ndarray

    def params(self) -> list[np.ndarray]:
        return [self.w1, self.b1, self.w2, self.b2, self.c]

    def members(self, x: np.ndarray) -> np.ndarray:
        """Betas of every member, ``(S, n, K)``, for raw inputs ``x (n, D)``."""
        return _forward(self, self.standardise(x))[2]

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """Training z-scores, clipped to +-``CLIP_Z``: a month unlike any the network saw (a crash
        month's volatility) is read as the most extreme training value, not extrapolated."""
        return np.clip((x - self.x_mean) / self.x_sd, -CLIP_Z, CLIP_Z)

    def betas(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean beta ``(n, K)`` and the seed spread (SD across members, ddof 0)."""
        g = self.members(x)
        return g.mean(axis=0), g.std(axis=0)


def loss_and_grads(net: BetaNet, xs: np.ndarray, r: np.ndarray, f: np.ndarray, l2: float
                   ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-member loss ``(S,)`` and gradients (same shapes as ``net.params()``) on standardised ``xs``.

    Back-propagation of ``L = mean(e^2) + l2 (|W1|^2 + |W2|^2)``, ``e = c + sum_k g_k f_k - r``.
    """
    n = len(r)
    a, da, g = _forward(net, xs)
    e = (g * f[None]).sum(axis=2) + net.c[:, None] - r[None]  # (S, n)
    loss = (e * e).mean(axis=1) + l2 * ((net.w1**2).sum(axis=(1, 2)) + (net.w2**2).sum(axis=(1, 2)))
    dp = 2.0 * e / n  # dL / d prediction
    dg = dp[:, :, None] * f[None]  # (S, n, K)
    dz = np.matmul(dg, net.w2.transpose(0, 2, 1)) * da  # (S, n, H)
    grads = [np.matmul(xs.T, dz) + 2.0 * l2 * net.w1, dz.sum(axis=1),
             np.matmul(a.transpose(0, 2, 1), dg) + 2.0 * l2 * net.w2, dg.sum(axis=1), dp.sum(axis=1)]
    return loss, grads


def _init(d: int, k: int, cfg: NetConfig, b2: np.ndarray, x_mean: np.ndarray, x_sd: np.ndarray) -> BetaNet:
    """Glorot-uniform weights (the scikit-learn MLP convention; x2 for the logistic), one draw per seed."""
    rng = np.random.default_rng(cfg.random_state)
    s, h = cfg.n_seeds, cfg.hidden
    gain = np.sqrt(2.0) if cfg.activation == "logistic" else 1.0
    lim1 = gain * np.sqrt(6.0 / (d + h))
    lim2 = gain * np.sqrt(6.0 / (h + k))
    w1 = rng.uniform(-lim1, lim1, size=(s, d, h))
    b1 = rng.uniform(-lim1, lim1, size=(s, h))
    w2 = rng.uniform(-lim2, lim2, size=(s, h, k)) * 0.1  # small: start near the constant-beta solution
    b2c = np.broadcast_to(b2, (s, k)).copy()
    return BetaNet(w1, b1, w2, b2c, np.zeros(s), cfg.activation, x_mean, x_sd)


def pooled_slope(r: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``r`` on ``f (n, K)`` without intercept (the constant-beta start)."""
    sol, *_ = np.linalg.lstsq(f, r, rcond=None)
    return sol


def _forward(net: BetaNet, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hidden activations, their derivative and the members' betas for standardised ``xs (n, D)``."""
    a, da = _activate(np.matmul(xs, net.w1) + net.b1[:, None, :], net.activation)  # (S, n, H)
    return a, da, np.matmul(a, net.w2) + net.b2[:, None, :]


def fit_beta_net(x: np.ndarray, r: np.ndarray, f: np.ndarray, cfg: NetConfig,
                 val: np.ndarray | None = None) -> tuple[BetaNet, np.ndarray, np.ndarray]:
    """Fit the ensemble on rows ``x (n, D)``, ``r (n,)``, ``f (n, K)`` (standardised returns).

    ``val`` (boolean, per row; e.g. the latest 20 % of the training months) holds rows out of the
    gradient: each member keeps the weights of its epoch with the lowest validation MSE (early
    stopping; without ``val`` the last epoch's). Returns the network, the training MSE (members' mean,
    without the penalty) and the validation MSE of the ensemble-mean forecast per epoch (NaN without
    ``val``). Full-batch Adam, ``cfg.epochs`` steps, deterministic given ``random_state``.
    """
    x = np.asarray(x, float)
    r = np.asarray(r, float)
    f = np.asarray(f, float)
    if f.ndim == 1:
        f = f[:, None]
    val = np.zeros(len(r), bool) if val is None else np.asarray(val, bool)
    has_val = bool(val.any()) and bool((~val).any())
    fit = ~val if has_val else np.ones(len(r), bool)
    x_mean = x[fit].mean(axis=0)
    x_sd = x[fit].std(axis=0)
    x_sd = np.where(x_sd > 1e-12, x_sd, 1.0)  # constant inputs stay 0 after centring
    xs = np.clip((x - x_mean) / x_sd, -CLIP_Z, CLIP_Z)
    xt, rt, ft = xs[fit], r[fit], f[fit]
    xv, rv, fv = xs[val], r[val], f[val]
    net = _init(x.shape[1], f.shape[1], cfg, pooled_slope(rt, ft), x_mean, x_sd)
    params = net.params()
    best = [p.copy() for p in params]
    best_val = np.full(cfg.n_seeds, np.inf)
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, cfg.learning_rate
    train = np.empty(cfg.epochs)
    val_mse = np.full(cfg.epochs, np.nan)
    for step in range(1, cfg.epochs + 1):
        loss, grads = loss_and_grads(net, xt, rt, ft, cfg.l2)
        pen = cfg.l2 * ((net.w1**2).sum(axis=(1, 2)) + (net.w2**2).sum(axis=(1, 2)))
        train[step - 1] = float((loss - pen).mean())
        if has_val:
            _, _, g = _forward(net, xv)
            e = (g * fv[None]).sum(axis=2) + net.c[:, None] - rv[None]  # (S, n_val)
            member = (e * e).mean(axis=1)
            val_mse[step - 1] = float((e.mean(axis=0) ** 2).mean())
            better = member < best_val
            best_val = np.where(better, member, best_val)
            for keep, p in zip(best, params, strict=True):
                keep[better] = p[better]
        c1, c2 = 1.0 - b1**step, 1.0 - b2**step
        for p, gr, a, v in zip(params, grads, m1, m2, strict=True):
            a *= b1
            a += (1.0 - b1) * gr
            v *= b2
            v += (1.0 - b2) * gr * gr
            p -= lr * (a / c1) / (np.sqrt(v / c2) + eps)  # in place: the net holds these arrays
    if has_val:
        for keep, p in zip(best, params, strict=True):
            p[...] = keep
    return net, train, val_mse


# ------------------------------------------------------------------------------------------- inputs
def _window_moments(r: np.ndarray, f: np.ndarray, lookback: int, horizons) -> list[np.ndarray]:
    """Per horizon ``h``: ``mean(r f_m)``, ``mean(f_m^2)`` and the slope through the origin (clipped
    to +-5) over the last ``h`` months of the window ending at each row; each ``(W, N, M)``."""
    rw = sliding_window_view(r, lookback, axis=0)  # (W, N, L), oldest first
    fw = sliding_window_view(f, lookback, axis=0)  # (W, M, L)
    pw = rw[:, :, None, :] * fw[:, None, :, :]
    out = []
    for h in horizons:
        c = pw[..., lookback - h:].mean(axis=-1)
        v = np.broadcast_to((fw[:, None, :, lookback - h:] ** 2).mean(axis=-1), c.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.clip(c / v, -5.0, 5.0)
        out += [c, v, b]
    return out


def parse_inputs(inputs: str) -> tuple[str, ...]:
    """``"moments+state+anchor"`` -> the blocks, checked against ``INPUT_BLOCKS``."""
    blocks = tuple(b.strip() for b in inputs.split("+") if b.strip())
    unknown = [b for b in blocks if b not in INPUT_BLOCKS]
    if unknown or not blocks:
        raise ValueError(f"inputs {inputs!r}: use blocks of {INPUT_BLOCKS} joined by '+'")
    return blocks


def beta_features(r_std: np.ndarray, f_std: np.ndarray, lookback: int = 12, inputs: str = DEFAULT_INPUTS,
                  ff: np.ndarray | None = None, horizons=HORIZONS) -> np.ndarray:
    """Inputs ``x`` of the window ending at each month ``t`` (months ``t-L+1 .. t``): ``(T, N, D)``.

    ``r_std (T, N)`` coins, ``f_std (T, M)`` markets, standardised; ``ff (T, 5)`` Fama-French factors
    (block ``ff5``). Rows ``t < L-1`` and windows touching a NaN are NaN. ``inputs`` joins blocks:

    * moments: per market and horizon h in 3/6/12: ``mean(r f)``, ``mean(f^2)``, their ratio (slope);
    * state: the markets' trailing volatility (RMS of the standardised market returns over 3 and over
      12 months, pooled over markets), their mean absolute 12-month pairwise correlation, and the
      coin's RMS return over 3 and 12 months;
    * market_state: each market's 3- and 12-month RMS and each pair's 12-month correlation;
    * anchor: the expanding-window slope of the coin on each market (every month from the first to
      ``t``: the coin's long-run beta, a low-noise level the network adjusts);
    * ff5: the coin's 12-month mean of ``r FF_j`` and the 3-month mean of each factor;
    * lags: the 12 lagged returns of the coin and of each market (the raw window).
    """
    blocks = parse_inputs(inputs)
    t_len, n = r_std.shape
    m = f_std.shape[1]
    hs = [h for h in horizons if h <= lookback] or [lookback]
    if t_len < lookback:
        return np.full((t_len, n, 1), np.nan)
    w = t_len - lookback + 1
    rw = sliding_window_view(r_std, lookback, axis=0)  # (W, N, L), oldest first
    fw = sliding_window_view(f_std, lookback, axis=0)  # (W, M, L)

    def per_coin(a: np.ndarray) -> np.ndarray:  # (W, K) market-level -> (W, N, K)
        return np.broadcast_to(a[:, None, :], (w, n, a.shape[1]))

    feats: list[np.ndarray] = []
    if "moments" in blocks:
        feats += _window_moments(r_std, f_std, lookback, hs)
    if "state" in blocks or "market_state" in blocks:
        vol3 = np.sqrt((fw[..., -3:] ** 2).mean(axis=-1))  # (W, M)
        vol12 = np.sqrt((fw**2).mean(axis=-1))
        cov = np.einsum("wml,wkl->wmk", fw, fw) / lookback
        iu = np.triu_indices(m, 1)
        d = np.einsum("wmm->wm", cov)
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = (cov / np.sqrt(d[:, :, None] * d[:, None, :]))[:, iu[0], iu[1]]  # (W, M(M-1)/2)
        if "state" in blocks:  # three month-level summaries: few inputs the network cannot memorise months with
            mean_abs_corr = np.abs(corr).mean(axis=1, keepdims=True) if m > 1 else np.zeros((w, 1))
            summary = np.column_stack([np.sqrt((vol3**2).mean(axis=1)), np.sqrt((vol12**2).mean(axis=1)),
                                       mean_abs_corr[:, 0]])
            feats += [per_coin(summary), np.sqrt((rw[..., -3:] ** 2).mean(axis=-1))[..., None],
                      np.sqrt((rw**2).mean(axis=-1))[..., None]]
        if "market_state" in blocks:  # every market's volatility and every pair's correlation
            feats += [per_coin(vol3), per_coin(vol12), per_coin(corr)]
    if "anchor" in blocks:
        # Cumulative sums from the first month (a NaN month is left out of both sums).
        both = np.isfinite(r_std)[:, :, None] & np.isfinite(f_std)[:, None, :]
        num = np.cumsum(np.where(both, r_std[:, :, None] * f_std[:, None, :], 0.0), axis=0)
        den = np.cumsum(np.where(both, (f_std**2)[:, None, :], 0.0), axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            feats.append(np.clip(np.where(den > 0, num / den, np.nan), -5.0, 5.0)[lookback - 1:])
    if "ff5" in blocks:
        if ff is None:
            raise ValueError('inputs block "ff5" needs the Fama-French factors (ff)')
        ffw = sliding_window_view(np.asarray(ff, float), lookback, axis=0)  # (W, 5, L)
        feats += [np.einsum("wnl,wjl->wnj", rw, ffw) / lookback, per_coin(ffw[..., -3:].mean(axis=-1))]
    if "lags" in blocks:
        feats += [rw, per_coin(fw.reshape(w, -1))]
    out = np.full((t_len, n, sum(a.shape[2] for a in feats)), np.nan)
    out[lookback - 1:] = np.concatenate(feats, axis=2)
    return out


# ------------------------------------------------------------------------------------- walk-forward
def early_stopping_rows(month: np.ndarray, cfg: NetConfig) -> np.ndarray | None:
    """Rows of the latest ``cfg.val_fraction`` of the training months (None when switched off)."""
    if cfg.val_fraction <= 0:
        return None
    months = np.unique(month)
    n_val = int(round(len(months) * cfg.val_fraction))
    if n_val < 1 or n_val >= len(months):
        return None
    return month >= months[-n_val]


@dataclass(frozen=True)
class RefitResult:
    """Betas ``(len(targets), N, K)`` in raw units, their seed spread, alphas ``(len(targets), N)``."""

    betas: np.ndarray
    spread: np.ndarray
    alphas: np.ndarray


def control_projection(f_std: np.ndarray, t0: int, outputs: list[int]) -> np.ndarray:
    """``P (len(outputs), len(others))``: least-squares slopes of the other markets on the outputs'
    markets over the complete months ``< t0`` (standardised returns), so that
    ``f_others - f_outputs @ P`` is uncorrelated with the outputs' markets in the training history."""
    others = [j for j in range(f_std.shape[1]) if j not in outputs]
    hist = f_std[:t0][np.isfinite(f_std[:t0]).all(axis=1)]
    if len(hist) < 3:
        return np.zeros((len(outputs), len(others)))
    s = np.atleast_2d(np.cov(hist.T))
    return np.linalg.solve(s[np.ix_(outputs, outputs)], s[np.ix_(outputs, others)])


def model_factors(f_std: np.ndarray, t0: int, outputs: list[int], controls: bool = True) -> np.ndarray:
    """The factors a model is fitted on, ``(T, K')``: the outputs' markets first; with ``controls`` and
    fewer outputs than markets, then every other market orthogonalised on them (:func:`control_projection`).

    Why the controls: a single-market beta is the slope of a *univariate* regression, and in it the
    omitted markets' moves are residual noise common to every coin, which pooling across coins cannot
    diversify. Entering them as extra factors, orthogonalised on the output's market with the
    covariance of the whole training history, removes that noise from the loss while the output's
    coefficient stays the univariate slope (Frisch-Waugh-Lovell: ``r = sum_j b_j f_j`` is
    ``(b_k + sum_j b_j S_jk / S_kk) f_k + sum_j b_j f_j_perp``); the network's extra outputs are
    nuisance betas and are not returned.
    """
    fo = f_std[:, outputs]
    others = [j for j in range(f_std.shape[1]) if j not in outputs]
    if not controls or not others:
        return fo
    return np.concatenate([fo, f_std[:, others] - fo @ control_projection(f_std, t0, outputs)], axis=1)


def training_rows(r_raw: np.ndarray, f_raw: np.ndarray, t0: int, lookback: int, inputs: str,
                  ff_raw: np.ndarray | None, outputs: list[int], controls: bool = True):
    """Standardise with rows ``< t0``; features; the training rows (targets ``lookback .. t0-1``).

    Returns ``(x, r, f, coin, month, feats, fpath, stats)`` with ``x (n, D)``, ``r (n,)``, ``f (n, K')``
    the finite stacked coin-months (``K'`` factors of :func:`model_factors`: the outputs' markets, then
    the controls), ``coin (n,)`` and ``month (n,)`` their coin and target row, ``feats (T, N, D)`` every
    window's inputs, ``fpath (T, K')`` the standardised factors of every month and
    ``stats = (r_mean, r_sd, f_mean, f_sd)`` (``f_*`` for the outputs' markets).
    """
    r_mean = np.nanmean(r_raw[:t0], axis=0)
    r_sd = np.nanstd(r_raw[:t0], axis=0, ddof=1)
    f_mean = np.nanmean(f_raw[:t0], axis=0)
    f_sd = np.nanstd(f_raw[:t0], axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (r_raw - r_mean) / r_sd
    f = (f_raw - f_mean) / f_sd
    ff = None
    if ff_raw is not None:
        ff = (ff_raw - np.nanmean(ff_raw[:t0], axis=0)) / np.nanstd(ff_raw[:t0], axis=0, ddof=1)
    feats = beta_features(r, f, lookback, inputs, ff)
    fpath = model_factors(f, t0, outputs, controls)
    n = r.shape[1]
    s = np.arange(lookback, t0)
    xs, rs = feats[s - 1], r[s]
    fs = np.broadcast_to(fpath[s][:, None, :], (len(s), n, fpath.shape[1]))
    ok = np.isfinite(xs).all(axis=2) & np.isfinite(rs) & np.isfinite(fs).all(axis=2)
    coin = np.broadcast_to(np.arange(n), ok.shape)[ok]
    month = np.broadcast_to(s[:, None], ok.shape)[ok]
    return (xs[ok], rs[ok], fs[ok], coin, month, feats, fpath,
            (r_mean, r_sd, f_mean[outputs], f_sd[outputs]))


def refit_betas(r_raw: np.ndarray, f_raw: np.ndarray, t0: int, targets: list[int], outputs: list[int],
                cfg: NetConfig, lookback: int = 12, min_train: int = 36, inputs: str = DEFAULT_INPUTS,
                ff_raw: np.ndarray | None = None, controls: bool = True) -> RefitResult:
    """Train on targets ``< t0`` and give the betas of ``targets`` (all ``>= t0``) to ``outputs``.

    ``r_raw (T, N)``, ``f_raw (T, M)`` (all markets: every market's window enters the inputs),
    ``ff_raw (T, 5)``: the callers slice them to rows ``< max(targets)``, so no later month can reach
    the model. A coin gets betas when it has ``>= min_train`` complete training months. ``controls``:
    the other markets enter as orthogonalised nuisance factors (:func:`model_factors`).
    """
    n, k = r_raw.shape[1], len(outputs)
    out = RefitResult(np.full((len(targets), n, k), np.nan), np.full((len(targets), n, k), np.nan),
                      np.full((len(targets), n), np.nan))
    x, r, f, coin, month, feats, _, (r_mean, r_sd, f_mean, f_sd) = training_rows(
        r_raw, f_raw, t0, lookback, inputs, ff_raw, outputs, controls)
    counts = np.bincount(coin, minlength=n)
    usable = (counts >= min_train) & np.isfinite(r_sd) & (r_sd > 0)
    if not usable.any():
        return out
    keep = usable[coin]
    net, _, _ = fit_beta_net(x[keep], r[keep], f[keep], cfg, val=early_stopping_rows(month[keep], cfg))
    xp = feats[np.asarray(targets) - 1]  # (len(targets), N, D): windows ending at t-1
    good = np.isfinite(xp).all(axis=2) & usable[None, :]
    g, sd = net.betas(xp[good])
    g, sd = g[:, :k], sd[:, :k]  # the outputs' betas (the controls' nuisance betas are dropped)
    scale = (r_sd[:, None] / f_sd[None, :])  # standardised -> raw betas, per coin and market
    coin_of = np.broadcast_to(np.arange(n), good.shape)[good]
    out.betas[good] = g * scale[coin_of]
    out.spread[good] = sd * scale[coin_of]
    c = float(net.c.mean())
    out.alphas[good] = r_mean[coin_of] + r_sd[coin_of] * c - (out.betas[good] * f_mean).sum(axis=1)
    return out


def walk_forward_betas(r_raw: np.ndarray, f_raw: np.ndarray, outputs: list[int], cfg: NetConfig,
                       lookback: int = 12, min_train: int = 36, refit_every: int = 6, inputs: str = DEFAULT_INPUTS,
                       ff_raw: np.ndarray | None = None, first: int | None = None, controls: bool = True
                       ) -> RefitResult:
    """Ex-ante betas for every month from ``first`` (default ``lookback + min_train``) to the end,
    retrained every ``refit_every`` months on the months before the refit (no look-ahead: the block
    of targets ``t0 .. t0 + refit_every - 1`` sees rows ``< max(target)`` only, and trains on ``< t0``)."""
    t_len, n = r_raw.shape
    k = len(outputs)
    res = RefitResult(np.full((t_len, n, k), np.nan), np.full((t_len, n, k), np.nan), np.full((t_len, n), np.nan))
    first = lookback + min_train if first is None else first
    for t0 in range(first, t_len, refit_every):
        tg = list(range(t0, min(t0 + refit_every, t_len)))
        end = tg[-1]
        part = refit_betas(r_raw[:end], f_raw[:end], t0, tg, outputs, cfg, lookback, min_train, inputs,
                           None if ff_raw is None else ff_raw[:end], controls)
        res.betas[tg], res.spread[tg], res.alphas[tg] = part.betas, part.spread, part.alphas
    return res
