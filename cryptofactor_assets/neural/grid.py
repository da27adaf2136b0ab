"""The neural-beta network's configuration grid per target, chosen by chronological nested validation.

Targets: each single market (``K = 1`` output), the seed's combinations ``FIAT+EQUITY`` and ``FIAT+GOLD``
(``K = 2``) and ``JOINT`` (all markets, ``K = 4``), the models ``r = c + sum_k g_k(x) f_k`` of
:mod:`beta_net` with ``outputs`` = the target's markets (every market's window enters the inputs).
Seed grid: hidden units (4, 8, 16) x learning rate (0.001, 0.01, 0.1) x activation (identity, logistic,
tanh, relu) = 36 configurations; the other :class:`NetConfig` fields come from a base config.

Nested validation in time order: after the look-back, the target months split into a train block,
a validation block and a test block (default 60 / 20 / 20 %). Each configuration is fitted on the
train block only (single- and two-market targets with the other markets as orthogonalised controls,
as the betas are: ``beta_net.model_factors``; return and market standardisation from the months
before the validation block, input z-scores from the training rows; early stopping on the latest ``NetConfig.val_fraction`` of the
train block's months, as :func:`beta_net.fit_beta_net` does), scored on the validation block, and the
winner per target is the lowest validation RMSE (ties: first in grid order). The test block is never
used for selection: its RMSE is reported for every configuration, so the winner's test score beside
its validation score shows the optimism of picking the best of many.

Score: RMSE of the return forecast ``r_mean_i + r_sd_i (c + g(x_{t-1})' f_t^std)`` (the same forecast
as ``alpha + beta' f`` in raw units) against the coin's log return, pooled over coins and months.

Fits run in parallel across (target, configuration) in worker processes (:func:`run_fits`); each fit
is deterministic given its data and config, so the results equal a serial run's. Learning curves
(training MSE and early-stopping MSE per epoch, standardised units) are the winner's own fit's.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from cryptofactor_assets.neural.beta_net import (
    ACTIVATIONS,
    DEFAULT_INPUTS,
    BetaNet,
    NetConfig,
    early_stopping_rows,
    fit_beta_net,
    training_rows,
)
from cryptofactor_assets.neural.params import GRID_TRAIN_FRACTION, GRID_VAL_FRACTION, LOOKBACK

JOINT = "JOINT"
#: The seed's market combinations (besides every single market and JOINT).
COMBINATIONS: tuple[tuple[str, ...], ...] = (("FIAT", "EQUITY"), ("FIAT", "GOLD"))
#: The seed's grid: 3 x 3 x 4 = 36 configurations.
DEFAULT_HIDDEN: tuple[int, ...] = (4, 8, 16)
DEFAULT_LEARNING_RATES: tuple[float, ...] = (0.001, 0.01, 0.1)
#: The demo's default grid (``full_grid`` off): 2 x 1 x 3 = 6 configurations on every target.
DEMO_HIDDEN: tuple[int, ...] = (4, 16)
DEMO_LEARNING_RATES: tuple[float, ...] = (0.01,)
DEMO_ACTIVATIONS: tuple[str, ...] = ("identity", "tanh", "relu")
#: Shares of the train and validation blocks (``params``; the test block is the rest).
TRAIN_FRACTION = GRID_TRAIN_FRACTION
VAL_FRACTION = GRID_VAL_FRACTION
#: Fewest train-block months, and fewest train-block months of a coin for it to enter a target.
MIN_TRAIN_MONTHS = 12


def target_name(markets: Sequence[str]) -> str:
    return "+".join(markets)


def grid_targets(markets: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """``(name, markets)`` of the targets the present ``markets`` allow, in this order: each market,
    the seed's combinations whose markets are all present, ``JOINT`` (all markets, when > 1 and not
    already a combination)."""
    markets = tuple(markets)
    out = [(m, (m,)) for m in markets]
    out += [(target_name(c), c) for c in COMBINATIONS if set(c) <= set(markets)]
    if len(markets) > 1 and not any(set(mk) == set(markets) for _, mk in out):
        out.append((JOINT, markets))
    return out


def config_grid(hidden: Sequence[int] = DEFAULT_HIDDEN,
                learning_rates: Sequence[float] = DEFAULT_LEARNING_RATES,
                activations: Sequence[str] = ACTIVATIONS, base: NetConfig | None = None) -> list[NetConfig]:
    """Cartesian product (hidden outermost, activation innermost) on top of ``base``."""
    base = base or NetConfig()
    return [replace(base, hidden=int(h), learning_rate=float(lr), activation=str(a))
            for h, lr, a in itertools.product(hidden, learning_rates, activations)]


def demo_grid(base: NetConfig | None = None) -> list[NetConfig]:
    """The demo's 6 configurations (hidden 4/16, learning rate 0.01, identity/tanh/relu)."""
    return config_grid(DEMO_HIDDEN, DEMO_LEARNING_RATES, DEMO_ACTIVATIONS, base)


# ----------------------------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Blocks:
    """Rows of the monthly history: look-back ``[0, lookback)``, train targets ``[lookback, val_start)``,
    validation ``[val_start, test_start)``, test ``[test_start, t_len)``."""

    lookback: int
    val_start: int
    test_start: int
    t_len: int

    def bounds(self, index: pd.DatetimeIndex) -> dict[str, object]:
        """First and last month of each block (dates)."""
        d = [pd.Timestamp(m).date() for m in index]
        return {"train_first": d[self.lookback], "train_last": d[self.val_start - 1],
                "val_first": d[self.val_start], "val_last": d[self.test_start - 1],
                "test_first": d[self.test_start], "test_last": d[self.t_len - 1]}


def _check_fractions(train_fraction: float, val_fraction: float) -> None:
    if not (train_fraction > 0 and val_fraction > 0 and train_fraction + val_fraction < 1):
        raise ValueError(f"train_fraction ({train_fraction}) and val_fraction ({val_fraction}) must be > 0 "
                         f"and leave a test block (sum < 1)")


def block_sizes(t_len: int, lookback: int, train_fraction: float = TRAIN_FRACTION,
                val_fraction: float = VAL_FRACTION) -> tuple[int, int, int]:
    """Months in the train, validation and test blocks of ``t_len`` months (rounded shares of the
    ``t_len - lookback`` target months; the train block takes the rounding)."""
    _check_fractions(train_fraction, val_fraction)
    n = max(t_len - lookback, 0)
    n_val = int(round(n * val_fraction))
    n_test = int(round(n * (1.0 - train_fraction - val_fraction)))
    return n - n_val - n_test, n_val, n_test


def blocks_fit(t_len: int, lookback: int, train_fraction: float = TRAIN_FRACTION,
               val_fraction: float = VAL_FRACTION) -> bool:
    """True when the blocks hold >= ``MIN_TRAIN_MONTHS`` train months and >= 1 validation and test month."""
    n_train, n_val, n_test = block_sizes(t_len, lookback, train_fraction, val_fraction)
    return n_train >= MIN_TRAIN_MONTHS and n_val >= 1 and n_test >= 1


def min_history_months(lookback: int, train_fraction: float = TRAIN_FRACTION,
                       val_fraction: float = VAL_FRACTION) -> int:
    """Fewest months for which :func:`blocks_fit` holds (the grid's minimum history)."""
    _check_fractions(train_fraction, val_fraction)
    t = lookback + MIN_TRAIN_MONTHS + 2
    while not blocks_fit(t, lookback, train_fraction, val_fraction):
        t += 1
    return t


def nested_blocks(t_len: int, lookback: int, train_fraction: float = TRAIN_FRACTION,
                  val_fraction: float = VAL_FRACTION) -> Blocks:
    if not blocks_fit(t_len, lookback, train_fraction, val_fraction):
        raise ValueError(f"{t_len} months do not hold a look-back of {lookback}, >= {MIN_TRAIN_MONTHS} train "
                         f"months and a validation and a test month (needs >= "
                         f"{min_history_months(lookback, train_fraction, val_fraction)})")
    n_train, n_val, _ = block_sizes(t_len, lookback, train_fraction, val_fraction)
    return Blocks(lookback, lookback + n_train, lookback + n_train + n_val, t_len)


# ------------------------------------------------------------------------------------ target data
@dataclass(frozen=True)
class ScoredRows:
    """Coin-months of a block scored in raw units: standardised inputs ``x``, market returns ``f``
    (standardised with the training statistics), raw coin returns ``r`` and the coin's ``r_mean``, ``r_sd``."""

    x: np.ndarray
    f: np.ndarray
    r: np.ndarray
    r_mean: np.ndarray
    r_sd: np.ndarray

    def rmse(self, net: BetaNet) -> float:
        if len(self.r) == 0:
            return float("nan")
        pred = self.r_mean + self.r_sd * forecast_std(net, self.x, self.f)
        return float(np.sqrt(np.mean((self.r - pred) ** 2)))


@dataclass(frozen=True)
class TargetData:
    """A target's training rows (standardised, ``month`` = target row of each) and its scored blocks."""

    name: str
    markets: tuple[str, ...]
    x: np.ndarray
    r: np.ndarray
    f: np.ndarray
    month: np.ndarray
    val: ScoredRows
    test: ScoredRows
    n_coins: int


def forecast_std(net: BetaNet, x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Ensemble forecast ``c + g(x)' f`` in standardised units (mean betas, mean intercept)."""
    g, _ = net.betas(x)
    return float(net.c.mean()) + (g * f).sum(axis=1)


def prepare_target(name: str, markets: Sequence[str], r_raw: np.ndarray, f_raw: np.ndarray,
                   outputs: list[int], blocks: Blocks, inputs: str = DEFAULT_INPUTS,
                   ff_raw: np.ndarray | None = None, min_train: int = MIN_TRAIN_MONTHS) -> TargetData:
    """Standardise with the months before the validation block, build the inputs (windows ending at
    ``t-1``), and keep the coins with >= ``min_train`` complete train-block months."""
    x, r, f, coin, month, feats, fpath, (r_mean, r_sd, _, _) = training_rows(
        r_raw, f_raw, blocks.val_start, blocks.lookback, inputs, ff_raw, outputs)
    n = r_raw.shape[1]
    with np.errstate(invalid="ignore"):
        usable = (np.bincount(coin, minlength=n) >= min_train) & np.isfinite(r_sd) & (r_sd > 0)
    keep = usable[coin]

    def scored(lo: int, hi: int) -> ScoredRows:
        s = np.arange(lo, hi)
        xs = feats[s - 1]  # (S, N, D): the window ending the month before the target
        rr = r_raw[s]
        fs = np.broadcast_to(fpath[s][:, None, :], (len(s), n, fpath.shape[1]))  # outputs' markets, controls
        ok = np.isfinite(xs).all(axis=2) & np.isfinite(rr) & np.isfinite(fs).all(axis=2) & usable[None, :]
        c = np.broadcast_to(np.arange(n), ok.shape)[ok]
        return ScoredRows(xs[ok], fs[ok], rr[ok], r_mean[c], r_sd[c])

    return TargetData(name, tuple(markets), x[keep], r[keep], f[keep], month[keep],
                      scored(blocks.val_start, blocks.test_start), scored(blocks.test_start, blocks.t_len),
                      int(usable.sum()))


# ---------------------------------------------------------------------------------- fits and scores
@dataclass(frozen=True)
class FitScore:
    """Scores of one fit (RMSEs; ``train_rmse_std`` in standardised units) and its per-epoch curves."""

    train_rmse_std: float
    val_rmse: float
    test_rmse: float
    train_mse: np.ndarray
    val_mse: np.ndarray


def fit_and_score(data: TargetData, cfg: NetConfig) -> FitScore:
    """Fit ``cfg`` on the train block (early stopping on its latest months) and score every block."""
    if len(data.r) == 0:
        nan = np.full(cfg.epochs, np.nan)
        return FitScore(float("nan"), float("nan"), float("nan"), nan, nan)
    net, train_mse, val_mse = fit_beta_net(data.x, data.r, data.f, cfg, val=early_stopping_rows(data.month, cfg))
    train = float(np.sqrt(np.mean((data.r - forecast_std(net, data.x, data.f)) ** 2)))
    return FitScore(train, data.val.rmse(net), data.test.rmse(net), train_mse, val_mse)


_WORKER_DATA: Sequence[TargetData] = ()


def _init_worker(data: Sequence[TargetData]) -> None:
    global _WORKER_DATA
    _WORKER_DATA = data


def _run_task(target: int, cfg: NetConfig) -> FitScore:
    return fit_and_score(_WORKER_DATA[target], cfg)


def resolve_n_jobs(n_jobs: int | None, n_tasks: int) -> int:
    """``n_jobs`` <= 0 or None: ``os.cpu_count()``; capped at the number of fits (at least 1)."""
    want = (os.cpu_count() or 1) if n_jobs is None or n_jobs <= 0 else int(n_jobs)
    return max(1, min(want, n_tasks))


#: Thread counts of the BLAS libraries numpy may use: one per worker (the fits' matrices are small;
#: threads per process on top of a process per core only contend).
_BLAS_THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _single_threaded_blas():
    """The environment spawned workers inherit: one BLAS thread each (a value the user set is kept)."""
    added = [k for k in _BLAS_THREAD_ENV if k not in os.environ]
    for k in added:
        os.environ[k] = "1"
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def run_fits(data: Sequence[TargetData], tasks: Sequence[tuple[int, NetConfig]], n_jobs: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> list[FitScore]:
    """``fit_and_score(data[i], cfg)`` for every task ``(i, cfg)``, in task order.

    ``n_jobs`` > 1: in that many worker processes, started with ``spawn`` (fresh interpreters, one BLAS
    thread each: no fork of a threaded Dagster process; like any ``spawn`` pool, a script calling this
    needs the ``if __name__ == "__main__":`` guard); the targets' rows go to each worker once.
    ``progress(done, total)`` after each fit, in completion order.
    """
    total = len(tasks)
    out: list[FitScore | None] = [None] * total
    jobs = resolve_n_jobs(n_jobs, total)
    if jobs == 1:
        for j, (i, cfg) in enumerate(tasks):
            out[j] = fit_and_score(data[i], cfg)
            if progress is not None:
                progress(j + 1, total)
        return out  # type: ignore[return-value]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                             initargs=(tuple(data),)) as pool:
        with _single_threaded_blas():  # the workers start during the first submits
            futures = {pool.submit(_run_task, i, cfg): j for j, (i, cfg) in enumerate(tasks)}
        pending = set(futures)
        done_count = 0
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in done:
                if fut.exception() is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise fut.exception()
                out[futures[fut]] = fut.result()
                done_count += 1
                if progress is not None:
                    progress(done_count, total)
    return out  # type: ignore[return-value]


# ------------------------------------------------------------------------------------- the search
@dataclass(frozen=True)
class LearningCurve:
    """Per-epoch training MSE and early-stopping MSE (standardised units) of a target's winner."""

    target: str
    config: NetConfig
    train_mse: np.ndarray
    val_mse: np.ndarray


@dataclass(frozen=True)
class GridResult:
    """``table``: one row per (target, configuration) with its config, scores, ``rank`` (by validation
    RMSE within the target; ties: grid order), ``is_best``, the blocks' bounds and ``n_coins``;
    ``best``: the winner per target; ``curves``: the winners' learning curves."""

    table: pd.DataFrame
    best: dict[str, NetConfig]
    curves: dict[str, LearningCurve]
    blocks: Blocks


def config_columns(cfg: NetConfig) -> dict[str, object]:
    return {"hidden": cfg.hidden, "learning_rate": cfg.learning_rate, "activation": cfg.activation,
            "l2": cfg.l2, "epochs": cfg.epochs, "n_seeds": cfg.n_seeds, "random_state": cfg.random_state,
            "early_stopping_fraction": cfg.val_fraction}


def grid_search(
    coin_returns: pd.DataFrame,
    market_returns: pd.DataFrame,
    markets: Sequence[str] | None = None,
    grid: Sequence[NetConfig] | None = None,
    targets: Sequence[tuple[str, Sequence[str]]] | None = None,
    lookback: int = LOOKBACK,
    train_fraction: float = TRAIN_FRACTION,
    val_fraction: float = VAL_FRACTION,
    inputs: str = DEFAULT_INPUTS,
    factors: pd.DataFrame | None = None,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GridResult:
    """Fit and score every configuration of ``grid`` (default: the seed's 36) on every target
    (default :func:`grid_targets` of ``markets``, default every column of ``market_returns``).

    ``coin_returns`` / ``market_returns``: month x series log returns on one monthly index;
    ``factors``: month x FF5 columns for an ``ff5`` input block. ``n_jobs``: worker processes
    (:func:`run_fits`; None or <= 0: one per CPU). ``progress(done, total)`` after each fit.
    """
    markets = tuple(markets or market_returns.columns)
    grid = list(grid or config_grid())
    targets = [(n, tuple(m)) for n, m in (targets or grid_targets(markets))]
    idx = coin_returns.index
    r_raw = coin_returns.to_numpy(float)
    f_raw = market_returns.reindex(idx)[list(markets)].to_numpy(float)
    ff_raw = None
    if factors is not None and "ff5" in inputs.split("+"):
        from cryptofactor_assets.neural.simulation import FF5_COLUMNS  # noqa: PLC0415

        ff_raw = factors.reindex(idx)[list(FF5_COLUMNS)].to_numpy(float)
    blocks = nested_blocks(len(idx), lookback, train_fraction, val_fraction)
    data = [prepare_target(name, mks, r_raw, f_raw, [markets.index(m) for m in mks], blocks, inputs, ff_raw)
            for name, mks in targets]
    tasks = [(i, cfg) for i in range(len(targets)) for cfg in grid]
    scores = run_fits(data, tasks, n_jobs, progress)
    bounds = blocks.bounds(idx)
    rows = []
    for (i, cfg), s in zip(tasks, scores, strict=True):
        rows.append({"market": targets[i][0], "n_outputs": len(targets[i][1]), **config_columns(cfg),
                     "inputs": inputs, "train_rmse_std": s.train_rmse_std, "val_rmse": s.val_rmse,
                     "test_rmse": s.test_rmse, "order": len(rows) % len(grid)})
    table = pd.DataFrame(rows)
    # rank by validation RMSE within the target (NaN last, ties: grid order); the test block plays no part
    key = table["val_rmse"].fillna(np.inf)
    table["rank"] = (table.assign(key=key).sort_values(["market", "key", "order"], kind="stable")
                     .groupby("market", sort=False).cumcount() + 1)
    table["is_best"] = table["rank"] == 1
    table = table.assign(lookback=lookback, train_fraction=train_fraction, val_fraction=val_fraction, **bounds,
                         first_month=idx[0].date(), last_month=idx[-1].date(),
                         n_coins=[data[i].n_coins for i, _ in tasks]).drop(columns="order")
    best: dict[str, NetConfig] = {}
    curves: dict[str, LearningCurve] = {}
    for j, ((i, cfg), s) in enumerate(zip(tasks, scores, strict=True)):
        if table["is_best"].iat[j]:
            best[targets[i][0]] = cfg
            curves[targets[i][0]] = LearningCurve(targets[i][0], cfg, s.train_mse, s.val_mse)
    return GridResult(table=table, best=best, curves=curves, blocks=blocks)


# ---------------------------------------------------------------------------------------- winners
def grid_winners(grid_table: pd.DataFrame, base: NetConfig | None = None) -> dict[str, NetConfig]:
    """``target -> NetConfig`` of the rows with ``is_best`` (the stored grid or its winners' select).

    Fields a row lacks or holds NULL in (a table written before the column existed) come from ``base``
    (default ``NetConfig()``). Two winners for one target are an error.
    """
    base = base or NetConfig()
    rows = grid_table[grid_table["is_best"].astype(bool)] if "is_best" in grid_table else grid_table
    dup = rows["market"][rows["market"].duplicated()]
    if len(dup):
        raise ValueError(f"neural_beta_grid holds several best configurations for {sorted(set(dup))}")
    fields = {"hidden": int, "learning_rate": float, "activation": str, "l2": float, "epochs": int,
              "n_seeds": int, "random_state": int, "early_stopping_fraction": float}
    out = {}
    for _, row in rows.iterrows():
        kw = {}
        for col, cast in fields.items():
            if col in row.index and not pd.isna(row[col]):
                kw["val_fraction" if col == "early_stopping_fraction" else col] = cast(row[col])
        out[str(row["market"])] = replace(base, **kw)
    return out


def read_grid_winners(con, base: NetConfig | None = None) -> dict[str, NetConfig]:
    """The stored winners (``select_neural_beta_grid_winners``; empty when the grid was not run)."""
    from cryptofactor_assets.neural.tables import NEURAL_BETA_GRID  # noqa: PLC0415
    from cryptofactor_assets.storage.warehouse import ensure_table, load_sql  # noqa: PLC0415

    ensure_table(con, NEURAL_BETA_GRID)  # an older table gains the new columns (NULL: base's values)
    return grid_winners(con.execute(load_sql("select_neural_beta_grid_winners", domain="neural")).df(), base)


def drop_retired_columns(con, table: str) -> list[str]:
    """Drop the columns of ``table`` its create statement no longer declares (e.g. ``max_iter`` of the
    scikit-learn grid, NOT NULL there: an ``INSERT ... BY NAME`` without it would fail); for the grid's
    tables, whose rows every run replaces as a whole. Returns the dropped names."""
    from cryptofactor_assets.storage.identifiers import quote_ident  # noqa: PLC0415
    from cryptofactor_assets.storage.warehouse import declared_columns, load_sql, table_exists  # noqa: PLC0415

    if not table_exists(con, table):
        return []
    declared = {name for name, _ in declared_columns(table)}
    have = [r[0] for r in con.execute(load_sql("select_table_columns", domain="storage"), {"table": table}).fetchall()]
    retired = [c for c in have if c not in declared]
    for c in retired:
        con.execute(f"ALTER TABLE {quote_ident(table)} DROP COLUMN {quote_ident(c)}")
    return retired


# ------------------------------------------------------------------------------------------ figure
def learning_curves_png(curves: Mapping[str, LearningCurve] | Sequence[LearningCurve]) -> bytes:
    """One palette PNG, a panel per target: the winner's training MSE and early-stopping MSE per epoch
    (standardised units), the early-stopping minimum marked."""
    from cryptofactor_assets.analytics.plots import new_figure, panels_png  # noqa: PLC0415

    items = list(curves.values()) if isinstance(curves, Mapping) else list(curves)
    ncols = min(4, max(len(items), 1))
    nrows = max(1, -(-len(items) // ncols))
    fig = new_figure(figsize=(2.3 * ncols + 0.4, 1.9 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    handles = {}
    for ax, c in zip(axes, items, strict=False):
        ep = np.arange(1, len(c.train_mse) + 1)
        (h1,) = ax.plot(ep, c.train_mse, color="tab:blue", linewidth=1.1)
        handles.setdefault("train MSE", h1)
        if np.isfinite(c.val_mse).any():
            (h2,) = ax.plot(ep, c.val_mse, color="tab:red", linewidth=1.1)
            handles.setdefault("early-stopping MSE", h2)
            k = int(np.nanargmin(c.val_mse))
            ax.plot([ep[k]], [c.val_mse[k]], "o", color="tab:red", markersize=3)
        ax.set_title(f"{c.target}: {c.config.activation}, h={c.config.hidden}, lr={c.config.learning_rate:g}",
                     fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(True, alpha=0.3)
    return panels_png(fig, axes, len(items), "Learning curves of each target's winner (standardised units; x: epoch)",
                      handles, ncol=2, fontsize=8, legend_size="x-small")


def full_grid_seconds(coin_returns: pd.DataFrame, market_returns: pd.DataFrame, n_jobs: int | None = None) -> float:
    """Wall-clock seconds of the seed's grid (36 configurations x the targets of ``market_returns``)."""
    import time  # noqa: PLC0415

    t0 = time.perf_counter()
    grid_search(coin_returns, market_returns, grid=config_grid(), n_jobs=n_jobs)
    return time.perf_counter() - t0
