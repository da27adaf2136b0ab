"""Grid search of the neural-beta network per market, and learning curves as PNG bytes.

Validation is time-ordered: the first ``1 - val_fraction`` of the usable months train the network
(standardisation statistics from those months only), the last ``val_fraction`` validate it. The score
is the validation RMSE of the return forecast ``a + sum_k beta_k(x_{t-1}) f_{k,t}`` in raw units,
pooled over coins (the quantity the betas exist for). Markets are the single markets plus ``"JOINT"``
(all markets in one backfitted model). Default grid: hidden units (4, 8, 16) x learning rates
(0.001, 0.01, 0.1) x activations (identity, logistic, tanh, relu) = 36 configurations.

Learning curves: the chosen configuration is retrained epoch by epoch with ``partial_fit`` (one pass
over the training months per call), recording the weighted training loss and the validation RMSE
after each epoch; :func:`learning_curves_png` draws them with matplotlib's Agg backend.
"""

from __future__ import annotations

import io
import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from cryptofactor_assets.neural.neural_beta import ACTIVATIONS, MLPConfig, _fit_nets, _prepare
from cryptofactor_assets.neural.params import LOOKBACK, N_BACKFIT, VAL_FRACTION

JOINT = "JOINT"
DEFAULT_HIDDEN: tuple[int, ...] = (4, 8, 16)
DEFAULT_LEARNING_RATES: tuple[float, ...] = (0.001, 0.01, 0.1)
#: The reduced grid of ``reduced_grid`` (the demo's default).
REDUCED_HIDDEN: tuple[int, ...] = (4, 8)
REDUCED_LEARNING_RATES: tuple[float, ...] = (0.01,)
REDUCED_ACTIVATIONS: tuple[str, ...] = ("identity", "tanh")


def config_grid(hidden: Sequence[int] = DEFAULT_HIDDEN,
                learning_rates: Sequence[float] = DEFAULT_LEARNING_RATES,
                activations: Sequence[str] = ACTIVATIONS, base: MLPConfig | None = None
                ) -> list[MLPConfig]:
    """Cartesian product of the settings on top of ``base`` (``reduced_grid`` for quick tests)."""
    base = base or MLPConfig()
    return [replace(base, hidden=h, learning_rate=lr, activation=a)
            for h, lr, a in itertools.product(hidden, learning_rates, activations)]


def reduced_grid(base: MLPConfig | None = None) -> list[MLPConfig]:
    """A 4-configuration grid (hidden 4/8, identity/tanh, learning rate 0.01) for fast tests."""
    return config_grid(REDUCED_HIDDEN, REDUCED_LEARNING_RATES, REDUCED_ACTIVATIONS, base)


@dataclass(frozen=True)
class _Split:
    x_tr: np.ndarray
    r_tr: np.ndarray
    f_tr: np.ndarray
    x_va: np.ndarray
    r_raw_va: np.ndarray
    f_raw_va: np.ndarray
    scale: np.ndarray  # (n_va, M) r_sd / f_sd per validation row
    r_mean: np.ndarray  # (n_va,)
    f_mean: np.ndarray  # (M,)


#: Fewest training months of a grid split (after the look-back).
MIN_TRAIN_MONTHS = 12


def split_fits(t_len: int, lookback: int, val_fraction: float) -> bool:
    """True when ``t_len`` months leave >= ``MIN_TRAIN_MONTHS`` training months after the look-back and at
    least one validation month (the condition of the time-ordered split in ``grid_search``)."""
    n_train = int(round((t_len - lookback) * (1 - val_fraction)))
    return n_train >= MIN_TRAIN_MONTHS and lookback + n_train < t_len


def min_split_months(lookback: int, val_fraction: float) -> int:
    """Fewest months for which ``split_fits`` holds (the grid's minimum history)."""
    t = lookback + 1
    while not split_fits(t, lookback, val_fraction):
        t += 1
        if t > 100_000:  # val_fraction of 0 or 1: never fits
            raise ValueError(f"no history length fits val_fraction={val_fraction}")
    return t


def _split(coin_returns: pd.DataFrame, market_returns: pd.DataFrame, markets: Sequence[str],
           lookback: int, val_fraction: float) -> _Split:
    r = coin_returns.to_numpy(float)
    f = market_returns.reindex(coin_returns.index)[list(markets)].to_numpy(float)
    t_len, n = r.shape
    if not split_fits(t_len, lookback, val_fraction):
        raise ValueError("not enough months for a train/validation split")
    n_train = int(round((t_len - lookback) * (1 - val_fraction)))
    t0 = lookback + n_train  # first validation month
    prep = _prepare(r, f, t0, lookback)
    m = f.shape[1]

    def rows(s: np.ndarray) -> tuple[np.ndarray, ...]:
        xs, rs = prep.x[s - 1], prep.r[s]
        fs = np.broadcast_to(prep.f[s][:, None, :], (len(s), n, m))
        ok = np.isfinite(xs).all(axis=2) & np.isfinite(rs) & np.isfinite(fs).all(axis=2)
        return xs, rs, fs, ok

    xs, rs, fs, ok = rows(np.arange(lookback, t0))
    s_va = np.arange(t0, t_len)
    xv, _, _, okv = rows(s_va)
    coin = np.broadcast_to(np.arange(n), okv.shape)[okv]
    scale = (prep.r_sd[coin][:, None] / prep.f_sd[None, :])
    return _Split(x_tr=xs[ok], r_tr=rs[ok], f_tr=fs[ok], x_va=xv[okv], r_raw_va=r[s_va][okv],
                  f_raw_va=np.broadcast_to(f[s_va][:, None, :], (len(s_va), n, m))[okv],
                  scale=scale, r_mean=prep.r_mean[coin], f_mean=prep.f_mean)


def _val_rmse(nets: list, sp: _Split) -> float:
    g = np.column_stack([net.predict(sp.x_va) for net in nets])
    beta = g * sp.scale
    pred = sp.r_mean + (beta * (sp.f_raw_va - sp.f_mean)).sum(axis=1)
    return float(np.sqrt(np.mean((sp.r_raw_va - pred) ** 2)))


def _train_rmse(nets: list, sp: _Split) -> float:
    g = np.column_stack([net.predict(sp.x_tr) for net in nets])
    return float(np.sqrt(np.mean((sp.r_tr - (g * sp.f_tr).sum(axis=1)) ** 2)))


@dataclass(frozen=True)
class GridResult:
    """All scores (``table``: market, hidden, learning_rate, activation, train_rmse_std, val_rmse) and
    the best configuration per market (lowest validation RMSE; ties: first in grid order)."""

    table: pd.DataFrame
    best: dict[str, MLPConfig]
    lookback: int
    val_fraction: float


def grid_search(
    coin_returns: pd.DataFrame,
    market_returns: pd.DataFrame,
    markets: Sequence[str] | None = None,
    grid: Sequence[MLPConfig] | None = None,
    include_joint: bool = True,
    lookback: int = LOOKBACK,
    val_fraction: float = VAL_FRACTION,
    n_backfit: int = N_BACKFIT,
    progress: Callable[[int, int], None] | None = None,
) -> GridResult:
    """Score every configuration on every market (pooled network, time-ordered validation).

    ``progress(done, total)`` (optional, e.g. a ``cryptofactor_assets.progress.Progress``) is called
    after every configuration fitted: ``total`` = markets (plus ``JOINT``) x configurations."""
    markets = tuple(markets or market_returns.columns)
    grid = list(grid or config_grid())
    targets: list[tuple[str, list[str]]] = [(mk, [mk]) for mk in markets]
    if include_joint:
        targets.append((JOINT, list(markets)))
    rows = []
    best: dict[str, MLPConfig] = {}
    n_fits = len(targets) * len(grid)
    for name, mks in targets:
        sp = _split(coin_returns, market_returns, mks, lookback, val_fraction)
        scores = []
        for cfg in grid:
            nets = _fit_nets(sp.x_tr, sp.r_tr, sp.f_tr, cfg, n_backfit)
            v = _val_rmse(nets, sp)
            scores.append(v)
            rows.append({"market": name, "hidden": cfg.hidden, "learning_rate": cfg.learning_rate,
                         "activation": cfg.activation, "train_rmse_std": _train_rmse(nets, sp),
                         "val_rmse": v})
            if progress is not None:
                progress(len(rows), n_fits)
        best[name] = grid[int(np.nanargmin(scores))]
    return GridResult(table=pd.DataFrame(rows), best=best, lookback=lookback, val_fraction=val_fraction)


@dataclass(frozen=True)
class LearningCurve:
    """Per-epoch weighted training loss (standardised units) and validation RMSE (raw units)."""

    market: str
    config: MLPConfig
    train_loss: np.ndarray
    val_rmse: np.ndarray


def learning_curve(
    coin_returns: pd.DataFrame, market_returns: pd.DataFrame, market: str, config: MLPConfig,
    epochs: int = 100, lookback: int = LOOKBACK, val_fraction: float = VAL_FRACTION,
) -> LearningCurve:
    """Train ``config`` epoch by epoch with ``partial_fit`` and record both losses.

    For ``"JOINT"`` the epochs cycle over the markets' networks (one ``partial_fit`` each on its
    current partial residual), the epoch-wise form of the backfitting in ``neural_beta``.
    """
    mks = list(market_returns.columns) if market == JOINT else [market]
    sp = _split(coin_returns, market_returns, mks, lookback, val_fraction)
    m = len(mks)
    nets = [config.regressor() for _ in range(m)]
    fitted = np.zeros((len(sp.r_tr), m))
    train_loss, val = np.empty(epochs), np.empty(epochs)
    from sklearn.exceptions import ConvergenceWarning  # scikit-learn on first fit: run workers start faster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for e in range(epochs):
            for k in range(m):
                part = sp.r_tr - (fitted * sp.f_tr).sum(axis=1) + fitted[:, k] * sp.f_tr[:, k]
                keep = sp.f_tr[:, k] != 0.0
                nets[k].partial_fit(sp.x_tr[keep], part[keep] / sp.f_tr[keep, k],
                                    sample_weight=sp.f_tr[keep, k] ** 2)
                fitted[:, k] = nets[k].predict(sp.x_tr)
            train_loss[e] = np.mean((sp.r_tr - (fitted * sp.f_tr).sum(axis=1)) ** 2)
            val[e] = _val_rmse(nets, sp)
    return LearningCurve(market=market, config=config, train_loss=train_loss, val_rmse=val)


def learning_curves_png(curves: Sequence[LearningCurve]) -> bytes:
    """One panel per market: training loss and validation RMSE against epoch, as PNG bytes."""
    import matplotlib  # noqa: PLC0415 - plotting only on demand

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(1, max(len(curves), 1), figsize=(3.2 * max(len(curves), 1), 3.0),
                             squeeze=False)
    for ax, c in zip(axes[0], curves, strict=False):
        ep = np.arange(1, len(c.train_loss) + 1)
        ax.plot(ep, c.train_loss, label="train MSE (std units)")
        ax2 = ax.twinx()
        ax2.plot(ep, c.val_rmse, color="tab:red", label="validation RMSE")
        ax.set_title(f"{c.market}: {c.config.activation}, h={c.config.hidden}, "
                     f"lr={c.config.learning_rate:g}", fontsize=8)
        ax.set_xlabel("epoch")
        ax.tick_params(labelsize=7)
        ax2.tick_params(labelsize=7, colors="tab:red")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
