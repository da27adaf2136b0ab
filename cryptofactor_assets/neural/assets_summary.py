"""Cross-asset and neural betas, the unpartitioned studies over every stored month (group ``neural``):
``neural_beta_grid`` (grid search on validation RMSE, learning curves) and ``neural_beta_stats`` (beta
distributions, annual means, forecast comparison with and without FF5). The tables are the pure
functions of ``compute``; this module holds their run configs and Dagster specs."""

# no `from __future__ import annotations`: Dagster reads the asset function's annotations as objects
import datetime as dt

import dagster as dg
import pandas as pd

from cryptofactor_assets.analytics.plots import png_markdown
from cryptofactor_assets.common import md
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.neural import checks
from cryptofactor_assets.neural.compute import NEURAL, compute_grid, compute_stats, grid_lacks
from cryptofactor_assets.neural.cross_asset import FAR_FUTURE, wide_history
from cryptofactor_assets.neural.grid import (
    DEFAULT_HIDDEN,
    DEFAULT_LEARNING_RATES,
    REDUCED_ACTIVATIONS,
    REDUCED_HIDDEN,
    REDUCED_LEARNING_RATES,
    config_grid,
)
from cryptofactor_assets.neural.neural_beta import ACTIVATIONS, MLPConfig
from cryptofactor_assets.neural.params import EPOCHS, FF_WINDOW, LOOKBACK, N_BACKFIT, VAL_FRACTION
from cryptofactor_assets.neural.stats import annual_trajectories, trajectory_png
from cryptofactor_assets.neural.tables import (
    CROSS_ASSET_MONTHLY,
    CROSS_ASSET_TRUTH,
    NEURAL_BETA_ANNUAL,
    NEURAL_BETA_FORECASTS,
    NEURAL_BETA_GRID,
    NEURAL_BETA_LEARNING_CURVES,
    NEURAL_BETA_STATS,
    NEURAL_BETAS,
)
from cryptofactor_assets.progress import Progress
from cryptofactor_assets.storage.warehouse import ensure_table, frame_markdown, load_sql

GROUP = "neural"
KINDS = frozenset({"duckdb", "python"})


def _history(con) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every stored month of ``cross_asset_monthly`` as (coins, markets, factors)."""
    ensure_table(con, CROSS_ASSET_MONTHLY)
    return wide_history(con.execute(load_sql("select_cross_asset_history", domain="neural"),
                                    {"end": FAR_FUTURE}).df())


class NeuralGridConfig(dg.Config):
    full_grid: bool = False  # the 36 configurations (hidden 4/8/16 x lr 0.001/0.01/0.1 x 4 activations)
    hidden: list[int] = list(REDUCED_HIDDEN)  # used when full_grid is False (the reduced demo grid)
    learning_rates: list[float] = list(REDUCED_LEARNING_RATES)
    activations: list[str] = list(REDUCED_ACTIVATIONS)
    lookback: int = LOOKBACK
    val_fraction: float = VAL_FRACTION  # the last 30 % of the months validate
    n_backfit: int = N_BACKFIT
    l2: float = MLPConfig.l2
    max_iter: int = MLPConfig.max_iter
    random_state: int = MLPConfig.random_state
    epochs: int = EPOCHS  # learning-curve epochs of each market's best configuration


@table_asset(checks.GRID_CHECKS, group=GROUP, kinds=KINDS, config=NeuralGridConfig, deps=[CROSS_ASSET_MONTHLY])
def neural_beta_grid(run: TableRun) -> TableOutput:
    """Grid search of the neural-beta MLP per market (FIAT, EQUITY, GOLD, ENERGY, JOINT) on validation RMSE.

    Pooled network on every stored month of `cross_asset_monthly`; the first 70 % of the months train
    (standardised with their own statistics), the last 30 % validate; score = RMSE of the return forecast
    a + sum_k beta_k(x_{t-1}) f_{k,t} (log return per month). Default: a reduced grid (hidden 4/8,
    identity/tanh, learning rate 0.01) to keep the demo fast; `full_grid: true` runs the 36 configurations
    (hidden 4/8/16 x learning rate 0.001/0.01/0.1 x identity/logistic/tanh/relu). Learning curves
    (train loss and validation RMSE per epoch, `partial_fit`) of each market's best configuration are in
    `neural_beta_learning_curves` and the metadata. A model-selection study: `neural_betas` uses its own
    configured network, not these winners (the grid's validation months would be look-ahead there).
    """
    c = run.config
    base = MLPConfig(l2=c.l2, max_iter=c.max_iter, random_state=c.random_state)
    if c.full_grid:
        grid = config_grid(DEFAULT_HIDDEN, DEFAULT_LEARNING_RATES, ACTIVATIONS, base)
    else:
        grid = config_grid(c.hidden, c.learning_rates, c.activations, base)
    coins, markets, _ = _history(run.con)
    lacking = grid_lacks(coins, markets, c.lookback, c.val_fraction)
    if lacking:  # too little history (or none: no whole month in the ranges run): empty tables
        return TableOutput({NEURAL_BETA_GRID: pd.DataFrame(), NEURAL_BETA_LEARNING_CURVES: pd.DataFrame()},
                           metadata={"configurations": len(grid), "note": f"{lacking}: empty table"})
    progress = Progress(NEURAL_BETA_GRID, unit="configurations", log=run.log)
    table, curves, png = compute_grid(coins, markets, grid, c.lookback, c.val_fraction, c.n_backfit, c.epochs,
                                      progress)
    progress.finish("plus the learning curves of each market's best configuration")
    best = table[table["is_best"]][["market", "hidden", "learning_rate", "activation", "val_rmse",
                                    "train_rmse_std"]]
    top = table[table["rank"] <= 3].sort_values(["market", "rank"])[
        ["market", "rank", "hidden", "learning_rate", "activation", "val_rmse"]]
    return TableOutput({NEURAL_BETA_GRID: table, NEURAL_BETA_LEARNING_CURVES: curves}, metadata={
        "configurations": len(grid),
        "sample": f"{coins.index[0].date()} .. {coins.index[-1].date()}, {coins.shape[1]} coins, "
                  f"validation = last {c.val_fraction:.0%}",
        "best_configuration": md(frame_markdown(best.reset_index(drop=True))),
        "top_3_per_market": md(frame_markdown(top.reset_index(drop=True))),
        "learning_curves": md(png_markdown(png, "learning curves")),
    })


class NeuralStatsConfig(dg.Config):
    ff_window: int = FF_WINDOW  # months of the rolling FF5 regression of forecast residuals (demo: 24 months stored)


def _stats_metadata(stats: pd.DataFrame, annual: pd.DataFrame, fc: pd.DataFrame,
                    truth: pd.DataFrame | None = None) -> dict:
    """Means over coins of the statistics, the neural single-market rows, the annual paths (table and one
    PNG per run, panels per market, with the planted paths of ``truth`` when simulated), the RMSEs."""
    summary = stats.groupby(["method", "model", "market"], sort=True)[
        ["n_months", "mean_beta", "std_beta", "skew", "kurtosis", "excess_kurtosis", "min_beta", "max_beta",
         "truth_rmse"]
    ].mean().reset_index()
    fc_wide = fc.pivot_table(index=["model", "market", "ff5"], columns="method", values="rmse").reset_index()
    fc_wide.columns.name = None
    traj = annual.groupby(["method", "model", "market", "year"])["mean_beta"].mean().unstack("year").reset_index()
    traj.columns = [str(col) for col in traj.columns]
    paths = annual_trajectories(annual, truth, stats["first_month"].iloc[0], stats["last_month"].iloc[0])
    neural_single = stats[(stats["method"] == NEURAL) & (stats["model"] == "single")].drop(
        columns=["method", "model", "first_month", "last_month"])
    return {
        "months": f"{stats['first_month'].iloc[0]} .. {stats['last_month'].iloc[0]}",
        "beta_statistics (means over coins)": md(frame_markdown(summary)),
        "neural_single_by_coin": md(frame_markdown(neural_single.reset_index(drop=True))),
        "annual_mean_betas (means over coins)": md(frame_markdown(traj)),
        "annual_mean_beta_trajectory": md(png_markdown(trajectory_png(paths), "annual mean beta per market")),
        "forecast_rmse (log return per month)": md(frame_markdown(fc_wide)),
    }


@table_asset(checks.STATS_CHECKS, group=GROUP, kinds=KINDS, config=NeuralStatsConfig,
             deps=[NEURAL_BETAS, CROSS_ASSET_MONTHLY])
def neural_beta_stats(run: TableRun) -> TableOutput:
    """Distribution of the stored ex-ante betas and what they are worth for forecasting.

    `neural_beta_stats`: per method (neural_mlp, rolling_ols), model (single, joint), coin and market:
    N, mean, std, skew (adjusted Fisher-Pearson), kurtosis (plain, = excess + 3) and excess kurtosis
    (bias-corrected G2), min, max, and the RMSE against the planted beta when the data are simulated.
    `neural_beta_annual`: calendar-year mean betas; the metadata's `annual_mean_beta_trajectory` charts
    their means over coins per market and method (single and joint), with the planted paths when simulated.
    `neural_beta_forecasts`: out-of-sample RMSE of a_t + beta_t' f_t (betas from data before t, realised
    market returns of t), neural vs rolling OLS on the same coin-months, without and with the
    Fama-French five factors (ex-ante rolling regression of the residual on FF5, `ff_window` months).
    """
    con, ff_window = run.con, run.config.ff_window
    for t in (NEURAL_BETAS, CROSS_ASSET_MONTHLY, CROSS_ASSET_TRUTH):
        ensure_table(con, t)
    betas = con.execute(load_sql("select_neural_betas_window", domain="neural"),
                        {"start": dt.date(1900, 1, 1), "end": FAR_FUTURE}).df()
    if betas.empty:  # no month built (no whole month in the ranges run) or too short a history
        return TableOutput(
            {NEURAL_BETA_STATS: pd.DataFrame(), NEURAL_BETA_ANNUAL: pd.DataFrame(),
             NEURAL_BETA_FORECASTS: pd.DataFrame()},
            metadata={"ff_window": ff_window,
                      "note": "neural_betas holds no betas (the monthly job runs over whole calendar months of "
                              "the range only; a beta needs months of history before it): empty tables"})
    truth = con.execute(load_sql("select_cross_asset_truth", domain="neural")).df()
    coins, markets, factors = _history(con)
    stats, annual, fc = compute_stats(betas, coins, markets, factors, truth, ff_window)
    return TableOutput({NEURAL_BETA_STATS: stats, NEURAL_BETA_ANNUAL: annual, NEURAL_BETA_FORECASTS: fc},
                       metadata={"ff_window": ff_window, **_stats_metadata(stats, annual, fc, truth)})
