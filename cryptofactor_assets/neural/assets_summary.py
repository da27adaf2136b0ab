"""Cross-asset and neural betas, the unpartitioned studies over every stored month (group ``neural``):
``neural_beta_grid`` (model selection by nested validation, learning curves) and ``neural_beta_stats`` (beta
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
from cryptofactor_assets.neural.beta_net import ACTIVATIONS, DEFAULT_INPUTS, NetConfig
from cryptofactor_assets.neural.compute import NEURAL, compute_grid, compute_stats, grid_lacks
from cryptofactor_assets.neural.cross_asset import FAR_FUTURE, wide_history
from cryptofactor_assets.neural.grid import (
    DEFAULT_HIDDEN,
    DEFAULT_LEARNING_RATES,
    DEMO_ACTIVATIONS,
    DEMO_HIDDEN,
    DEMO_LEARNING_RATES,
    TRAIN_FRACTION,
    VAL_FRACTION,
    config_grid,
    drop_retired_columns,
    resolve_n_jobs,
)
from cryptofactor_assets.neural.params import FF_WINDOW, LOOKBACK
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
    full_grid: bool = False  # the seed's 36 configurations (hidden 4/8/16 x lr 0.001/0.01/0.1 x 4 activations)
    hidden: list[int] = list(DEMO_HIDDEN)  # the demo grid, used when full_grid is False
    learning_rates: list[float] = list(DEMO_LEARNING_RATES)
    activations: list[str] = list(DEMO_ACTIVATIONS)  # identity | logistic | tanh | relu
    lookback: int = LOOKBACK
    train_fraction: float = TRAIN_FRACTION  # earliest share of the months after the look-back: fits
    val_fraction: float = VAL_FRACTION  # the next share: selects; the latest months (the rest): test only
    inputs: str = DEFAULT_INPUTS  # input blocks of beta_net.beta_features joined by "+"
    l2: float = NetConfig.l2
    epochs: int = NetConfig.epochs
    n_seeds: int = NetConfig.n_seeds
    early_stopping_fraction: float = NetConfig.val_fraction  # latest share of the train block's months
    random_state: int = NetConfig.random_state
    n_jobs: int = 0  # worker processes; 0: one per CPU (os.cpu_count()), capped at the fits


@table_asset(checks.GRID_CHECKS, group=GROUP, kinds=KINDS, config=NeuralGridConfig, deps=[CROSS_ASSET_MONTHLY])
def neural_beta_grid(run: TableRun) -> TableOutput:
    """Neural-beta network chosen per target by chronological nested validation; winners feed `neural_betas`.

    Targets: FIAT, EQUITY, GOLD, ENERGY (one beta each), FIAT+EQUITY, FIAT+GOLD and JOINT (all four
    markets in one network, one least-squares loss). On every stored month of `cross_asset_monthly`,
    the months after the look-back (12) split in time order into a train block (first 60 %), a
    validation block (next 20 %) and a test block (last 20 %; `train_fraction`, `val_fraction`). Every configuration is fitted on the train
    block only (standardisation from it, early stopping on its latest months), scored on the validation
    block, and the lowest validation RMSE (return forecast c + g(x_{t-1})' f_t in log return per month,
    pooled over coins) wins; the test block is never used for selection and reports every configuration's
    RMSE, so the winner's test RMSE beside its validation RMSE shows the selection's optimism.
    Default: a 6-configuration demo grid (hidden 4/16 x learning rate 0.01 x identity/tanh/relu);
    `full_grid: true` (`cryptofactor materialize --full-grid`) runs the seed's 36 (hidden 4/8/16 x learning
    rate 0.001/0.01/0.1 x identity/logistic/tanh/relu) on the seven targets. Fits run in parallel
    (`n_jobs` processes). The winners' learning curves (training and early-stopping MSE per epoch) are in
    `neural_beta_learning_curves` and the metadata; `neural_betas` reads the winners
    (`select_neural_beta_grid_winners`).
    """
    c = run.config
    base = NetConfig(l2=c.l2, epochs=c.epochs, n_seeds=c.n_seeds, random_state=c.random_state,
                     val_fraction=c.early_stopping_fraction)
    if c.full_grid:
        grid = config_grid(DEFAULT_HIDDEN, DEFAULT_LEARNING_RATES, ACTIVATIONS, base)
    else:
        grid = config_grid(c.hidden, c.learning_rates, c.activations, base)
    for table in (NEURAL_BETA_GRID, NEURAL_BETA_LEARNING_CURVES):  # e.g. max_iter (NOT NULL) of the old grid
        dropped = drop_retired_columns(run.con, table)
        if dropped:
            run.log(f"{table}: dropped the retired columns {', '.join(dropped)}")
    coins, markets, factors = _history(run.con)
    lacking = grid_lacks(coins, markets, c.lookback, c.train_fraction, c.val_fraction)
    if lacking:  # too little history (or none: no whole month in the ranges run): empty tables
        return TableOutput({NEURAL_BETA_GRID: pd.DataFrame(), NEURAL_BETA_LEARNING_CURVES: pd.DataFrame()},
                           metadata={"configurations": len(grid), "note": f"{lacking}: empty table"})
    progress = Progress(NEURAL_BETA_GRID, unit="fits", log=run.log)
    table, curves, png = compute_grid(coins, markets, grid, c.lookback, c.train_fraction, c.val_fraction,
                                      c.inputs, factors, c.n_jobs, progress)
    progress.finish(f"{len(grid)} configurations x {table['market'].nunique()} targets")
    test_rank = table.groupby("market")["test_rmse"].rank(method="min")
    best = table.assign(test_rank=test_rank)[table["is_best"]][
        ["market", "hidden", "learning_rate", "activation", "train_rmse_std", "val_rmse", "test_rmse", "test_rank"]]
    top = table[table["rank"] <= 3].sort_values(["market", "rank"])[
        ["market", "rank", "hidden", "learning_rate", "activation", "val_rmse", "test_rmse"]]
    row = table.iloc[0]
    return TableOutput({NEURAL_BETA_GRID: table, NEURAL_BETA_LEARNING_CURVES: curves}, metadata={
        "configurations": len(grid),
        "grid": "full (36)" if c.full_grid else "demo",
        "targets": ", ".join(dict.fromkeys(table["market"])),
        "n_jobs": resolve_n_jobs(c.n_jobs or None, len(table)),
        "blocks": f"train {row['train_first']} .. {row['train_last']}, validation {row['val_first']} .. "
                  f"{row['val_last']}, test {row['test_first']} .. {row['test_last']} (look-back from "
                  f"{row['first_month']}; {int(row['n_coins'])} coins)",
        "winners (selected on validation; test_rank = their rank on the test block)":
            md(frame_markdown(best.reset_index(drop=True))),
        "top_3_per_target": md(frame_markdown(top.reset_index(drop=True))),
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
