"""Cross-asset and neural betas, the monthly assets: coins against fiat, equity, gold, energy and the
Fama-French factors (group ``neural``; the grid search and the statistics are in ``assets_summary``).

* ``cross_asset_monthly``: monthly log returns of coins and of the four asset classes, plus the
  Fama-French five factors (rows with ``asset_class = 'factor'``); planted betas in ``cross_asset_truth``.
* ``neural_betas``: ex-ante MLP conditional betas per coin and market (and the joint
  FIAT+EQUITY+GOLD+ENERGY model) and the rolling-OLS baseline, from data before the month.
* ``beta_quartile_portfolios``: quartile sorts on the betas for the holding month.

Monthly partitions (``month_start`` = first day of the month): the data are monthly and the estimators
are monthly; a partition is a calendar month. The tables are the pure functions of ``cross_asset``
and ``compute``; this module holds their run configs and Dagster shells.

History: the estimators train on every stored month since the history start, so
``cross_asset_monthly`` (re)writes the months ``[min(history_start, window start), window end)`` on each
run. Its series are a fixed calendar (``cross_asset``), so re-writing earlier months is idempotent, and
a demo over 2023-2024 carries its 2015-2022 training history.
"""

# no `from __future__ import annotations`: Dagster reads the asset function's annotations as objects
import datetime as dt
import os

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.analytics.plots import line_plot_png, png_markdown
from cryptofactor_assets.common import POOL, SINGLE_RUN, connect, lean_metadata, md, window_dates
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.neural import checks
from cryptofactor_assets.neural.beta_net import DEFAULT_INPUTS, NetConfig
from cryptofactor_assets.neural.compute import NEURAL, compute_beta_quartiles, compute_neural_betas
from cryptofactor_assets.neural.cross_asset import (
    DEFAULT_SEED,
    SIM_START,
    compute_cross_asset,
    monthly_index,
    parse_bounds,
    quarantine_implausible,
    wide_history,
)
from cryptofactor_assets.neural.grid import read_grid_winners
from cryptofactor_assets.neural.params import (
    LOOKBACK,
    MIN_COINS,
    MIN_TRAIN,
    N_GROUPS,
    NEURAL_LOOKBACK_MONTHS,
    OLS_MIN_OBS,
    OLS_WINDOW,
    REFIT_EVERY,
)
from cryptofactor_assets.neural.portfolios import portfolio_summary
from cryptofactor_assets.neural.resources import CrossAssetSourceResource
from cryptofactor_assets.neural.tables import CROSS_ASSET_MONTHLY, CROSS_ASSET_TRUTH, NEURAL_BETAS
from cryptofactor_assets.panels.tables import DAILY_PANEL
from cryptofactor_assets.partitions import monthly_partitions
from cryptofactor_assets.progress import Progress
from cryptofactor_assets.storage.replace import replace_rows_of_tables
from cryptofactor_assets.storage.warehouse import ensure_table, frame_markdown, load_sql, table_exists

GROUP = "neural"
#: Env var naming the simulated cross-asset scenario (hidden_regime | learnable).
SCENARIO_ENV = "CRYPTOFACTOR_SIM_SCENARIO"
KINDS = frozenset({"duckdb", "python"})


def _sql(name: str) -> str:
    return load_sql(name, domain="neural")


def _planted_betas_png(truth: pd.DataFrame, start: dt.date, end: dt.date) -> dict:
    """The planted univariate betas of ``[start, end)`` (mean over coins) as a PNG metadata entry."""
    if not len(truth):
        return {}
    t = truth.assign(month=pd.to_datetime(truth["month_start"]))
    t = t[(t["month"] >= pd.Timestamp(start)) & (t["month"] < pd.Timestamp(end))]
    if not len(t):
        return {}
    path = t.pivot_table(index="month", columns="market", values="univariate_beta", aggfunc="mean")
    return {"planted_univariate_betas": md(png_markdown(line_plot_png(
        path, "Planted univariate betas (mean over coins)", "beta"), "planted betas"))}


class CrossAssetConfig(dg.Config):
    history_start: str = SIM_START  # months from here to the window end are (re)written: training history
    seed: int | None = None  # simulation seed; None: the cross_asset_source resource's, else 20230101
    prices_csv: str | None = None  # yfinance CSV path(s); None: the resource's; unset there too: simulate
    tickers: str | None = None  # "BTC=BTC-USD,...,EQUITY=^GSPC"; None: the resource's
    ff5_csv: str | None = None  # French CSV / _CSV.zip path(s) or "linearmodels"; None: the resource's
    # where the coins come from: "prices" (the CSVs' coin tickers) or "daily_panel" (the stored daily
    # closes of any market source; markets still from prices_csv); None: the resource's
    # (env CRYPTOFACTOR_CROSS_ASSET_COINS), else prices
    coins_from: str | None = None
    # daily_panel symbols that are the coins, "BTC=BTCUSDT,ETHUSDT"; None: the resource's
    # (env CRYPTOFACTOR_CROSS_ASSET_PANEL_SYMBOLS), else every panel symbol
    panel_symbols: str | None = None
    # outlier bounds over the defaults (cross_asset.OUTLIER_BOUNDS), "EQUITY=0.6,coin=5": |monthly
    # return| above its series' (else asset class's) bound is quarantined in cross_asset_quarantine
    outlier_bounds: str = ""
    # simulated source only: "hidden_regime" (betas jump with a hidden regime) or "learnable" (betas a
    # logistic function of the markets' trailing volatility); None: env CRYPTOFACTOR_SIM_SCENARIO, else hidden
    scenario: str | None = None


# A thin shell, not `table_asset`: each run writes (and checks) the months from the history start,
# a wider window than the run's partitions.
@dg.asset(name=CROSS_ASSET_MONTHLY, partitions_def=monthly_partitions, backfill_policy=SINGLE_RUN, pool=POOL,
          group_name=GROUP, kinds=set(KINDS), check_specs=checks.CROSS_ASSET_CHECKS.specs())
def cross_asset_monthly(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: CrossAssetConfig,
                        cross_asset_source: CrossAssetSourceResource):
    """Monthly returns of coins, of FIAT (dollar index), EQUITY, GOLD, ENERGY, and the Fama-French five factors.

    One row per (month_start, series). Coins and markets: monthly log returns from the last price of each
    calendar month, `log(P_m / P_{m-1})` (a month without a price is a gap: no row for it nor the next
    month). Factors (`asset_class = 'factor'`: Mkt-RF, SMB, HML, RMW, CMA, RF): decimal simple returns
    (Fama & French 2015, JFE 116(1)). Default source: the deterministic simulation with planted,
    regime-switching betas (`neural/simulation.py`; seed from env CRYPTOFACTOR_SIM_SEED), whose betas go
    to `cross_asset_truth`. Real: env CRYPTOFACTOR_CROSS_ASSET_CSV (yfinance download CSV, e.g. from
    `cryptofactor fetch-cross-asset`; tickers from CRYPTOFACTOR_CROSS_ASSET_TICKERS) and
    CRYPTOFACTOR_FF5_CSV (Ken French CSV or _CSV.zip, or `linearmodels`); with
    CRYPTOFACTOR_CROSS_ASSET_COINS=daily_panel the coins come from the stored `daily_panel` closes
    (read as stored, not a declared dependency: materialise daily_panel first; a trailing month the
    panel does not cover to its last day is left out). A return beyond its asset class's bound (e.g.
    |log return| > 0.5 for EQUITY) is moved to `cross_asset_quarantine` with its reason (WARN check).
    Each run writes `[min(history_start, start), end)`: the training history of the neural betas.
    """
    start, end = window_dates(context)
    write_start = min(start, dt.date.fromisoformat(config.history_start))
    prices_csv, tickers, ff5_csv, seed = cross_asset_source.resolve(
        config.prices_csv, config.tickers, config.ff5_csv, config.seed, DEFAULT_SEED)
    coins_from, panel_symbols = cross_asset_source.resolve_coins(config.coins_from, config.panel_symbols)
    bounds = parse_bounds(config.outlier_bounds)
    panel = None
    if coins_from == "daily_panel":
        with connect(duckdb) as con:
            if not table_exists(con, DAILY_PANEL):
                raise ValueError(f"coins_from=daily_panel: no {DAILY_PANEL} table in {duckdb.database}; "
                                 f"materialise daily_panel first")
            panel = con.execute(_sql("select_daily_panel_closes"), {"end": end}).df()
    scenario = config.scenario or os.environ.get(SCENARIO_ENV) or "hidden_regime"
    returns, truth, source = compute_cross_asset(write_start, end, seed, prices_csv, tickers, ff5_csv,
                                                 panel_closes=panel, panel_symbols=panel_symbols,
                                                 scenario=scenario)
    returns, quarantined = quarantine_implausible(returns, bounds)
    with connect(duckdb) as con:
        written = replace_rows_of_tables(con, [(CROSS_ASSET_MONTHLY, returns), (CROSS_ASSET_TRUTH, truth),
                                               (checks.CROSS_ASSET_QUARANTINE, quarantined)],
                                         (write_start, end), "month_start")
        summary = con.execute(_sql("summarise_cross_asset_window"), {"start": start, "end": end}).df()
        results = checks.CROSS_ASSET_CHECKS.results(con, write_start, end)
    meta = {
        "dagster/row_count": written[CROSS_ASSET_MONTHLY].inserted,
        "truth_rows": written[CROSS_ASSET_TRUTH].inserted,
        "quarantined_rows": written[checks.CROSS_ASSET_QUARANTINE].inserted,
        "source": source,
        "seed": seed if source == "simulated" else "n/a",
        "scenario": scenario if source == "simulated" else "n/a",
        "coins_from": coins_from,
        "months_written": f"{write_start} .. {end} (exclusive; history from {config.history_start})",
        "summary (partition window)": md(frame_markdown(summary)),
    }
    if panel is not None:
        meta["daily_panel_closes"] = (f"{len(panel)} closes of {panel['symbol'].nunique()} symbols, "
                                      f"{pd.Timestamp(panel['date'].min()).date()} .. "
                                      f"{pd.Timestamp(panel['date'].max()).date()}" if len(panel) else "none")
    if len(quarantined):
        meta["quarantined (implausible monthly returns)"] = md(frame_markdown(
            quarantined[["month_start", "series", "source", "ret", "bound", "reason"]]))
    if not written[CROSS_ASSET_MONTHLY].inserted:
        meta["note"] = (f"the {source} series hold no month in {write_start} .. {end} (exclusive)"
                        + (f"; the simulated calendar starts {SIM_START}" if source == "simulated" else "")
                        + ": empty result")
    meta.update(_planted_betas_png(truth, start, end))
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


class NeuralBetasConfig(dg.Config):
    lookback: int = LOOKBACK  # months in the network's look-back window
    min_train: int = MIN_TRAIN  # minimum training months per coin before a beta is produced
    refit_every: int = REFIT_EVERY  # months between refits, anchored on the calendar (6: January and July)
    hidden: int = NetConfig.hidden
    learning_rate: float = NetConfig.learning_rate  # full-batch Adam
    activation: str = NetConfig.activation  # identity | logistic | tanh | relu
    l2: float = NetConfig.l2  # penalty on the weights
    epochs: int = NetConfig.epochs
    n_seeds: int = NetConfig.n_seeds  # ensemble members; the seed spread is stored as beta_spread
    val_fraction: float = NetConfig.val_fraction  # latest training months held out for early stopping
    random_state: int = NetConfig.random_state
    inputs: str = DEFAULT_INPUTS  # input blocks: moments, state, market_state, anchor, ff5, lags joined by +
    joint: bool = True  # also the joint FIAT+EQUITY+GOLD+ENERGY model and its implied single-market betas
    # per market (and JOINT) the winners stored by the last neural_beta_grid run, where there are any
    # (config_source column); the fields above otherwise
    use_grid_winners: bool = True
    ols_window: int = OLS_WINDOW
    ols_min_obs: int = OLS_MIN_OBS


#: The lineage declares the minimum history of the default parameters (months < m).
_HISTORY = dg.TimeWindowPartitionMapping(start_offset=-NEURAL_LOOKBACK_MONTHS, end_offset=-1,
                                         allow_nonexistent_upstream_partitions=True)


@table_asset(checks.NEURAL_BETAS_CHECKS, group=GROUP, partitions_def=monthly_partitions, kinds=KINDS,
             config=NeuralBetasConfig, deps=[dg.AssetDep(CROSS_ASSET_MONTHLY, partition_mapping=_HISTORY)])
def neural_betas(run: TableRun) -> TableOutput:
    """Ex-ante betas of every coin to FIAT, EQUITY, GOLD, ENERGY for month m, from data of months < m only.

    `method = neural_mlp`: r_t = a + sum_k g_k(x_{t-1}) f_{k,t} + e_t, g a one-hidden-layer network whose
    K outputs are the betas, fitted by least squares on the return in one optimisation (numpy, full-batch
    Adam with early stopping on the latest training months, an ensemble over seeds whose spread is
    `beta_spread`); `model = single`: K = 1 per market (the other markets, orthogonalised on it, as
    controls), `model = joint`: K = 4 (Gu, Kelly & Xiu 2021,
    J. Econometrics 222(1)). Inputs: the coins' and markets' 12-month window, trailing market volatility
    and correlation, the coin's expanding-window slope (`inputs` column). `method = neural_implied`: the
    single-market betas implied by the joint network, B S_k / S_kk with the markets' covariance before m.
    Walk-forward: retrained every `refit_every` months on the calendar grid (January/July by default) on
    every stored month before the refit month. `method = rolling_ols`: OLS over months m-12..m-1.
    Network settings per market: the winners of the last `neural_beta_grid` run where stored
    (`config_source`; the grid selects on its validation block, which may lie after m: a hyper-parameter
    choice informed by later months, stated, never the betas' data), else this run's config.
    Parameters are columns of the table. Lineage declares the minimum 48-month history (months < m).
    """
    con, start, end, c = run.con, run.start, run.end, run.config
    ensure_table(con, CROSS_ASSET_MONTHLY)
    hist = con.execute(_sql("select_cross_asset_history"), {"end": end}).df()
    targets = monthly_index(start, pd.Timestamp(end) - pd.offsets.MonthBegin(1))
    first = hist["month_start"].min() if len(hist) else start
    coins, markets, factors = wide_history(hist, min(pd.Timestamp(first), targets[0]), targets[-1])
    cfg = NetConfig(hidden=c.hidden, learning_rate=c.learning_rate, activation=c.activation, l2=c.l2,
                    epochs=c.epochs, n_seeds=c.n_seeds, val_fraction=c.val_fraction, random_state=c.random_state)
    progress = Progress(f"{NEURAL_BETAS} {targets[0]:%Y-%m}..{targets[-1]:%Y-%m}", len(targets), unit="months",
                        log=run.log)
    winners = read_grid_winners(con, cfg) if c.use_grid_winners else {}
    frame = compute_neural_betas(coins, markets, targets, cfg, c.lookback, c.min_train, c.refit_every,
                                 c.joint, c.ols_window, c.ols_min_obs, progress, inputs=c.inputs,
                                 factors=factors, configs=winners,
                                 config_source="neural_beta_grid winners" if winners else "run_config")
    progress.finish()

    def metadata(_written) -> dict:
        window = {"start": start, "end": end}
        summary = con.execute(_sql("summarise_neural_betas_window"), window).df()
        meta = {"parameters": md(frame_markdown(pd.DataFrame([c.model_dump()]))),
                "history": f"{coins.index[0].date() if len(coins) else 'none'} .. months before {end}",
                "summary": md(frame_markdown(summary))}
        single = frame[(frame["model"] == "single") & (frame["market"] == "EQUITY")]
        if len(single):
            ensure_table(con, CROSS_ASSET_TRUTH)
            truth = con.execute(_sql("select_planted_equity_betas"), window).df()
            path = single.pivot_table(index="month_start", columns="method", values="beta", aggfunc="mean")
            if len(truth):
                path = path.join(truth.set_index("month_start")["planted"].rename("planted (univariate)"))
            path.index = pd.to_datetime(path.index)
            meta["equity_beta_path"] = md(png_markdown(line_plot_png(
                path.sort_index(), "Ex-ante beta to EQUITY (mean over coins)", "beta"), "EQUITY betas"))
        return meta

    def empty_reason() -> str:  # no month of the window has the history either method needs
        held = int(coins.notna().any(axis=1).sum()) if len(coins) else 0
        return (f"needs months of cross_asset_monthly before each month: >= {c.lookback} + {c.min_train} "
                f"before the refit month for a neural beta, >= {c.ols_min_obs} for rolling OLS; the history "
                f"before {end} holds {held} months")

    return TableOutput({NEURAL_BETAS: frame}, metadata=metadata, empty_reason=empty_reason)


class QuartileConfig(dg.Config):
    n_groups: int = N_GROUPS
    min_coins: int = MIN_COINS  # months with fewer coins having both a beta and a return are skipped


@table_asset(checks.QUARTILE_CHECKS, group=GROUP, partitions_def=monthly_partitions, kinds=KINDS,
             config=QuartileConfig, deps=[dg.AssetDep(NEURAL_BETAS), dg.AssetDep(CROSS_ASSET_MONTHLY)])
def beta_quartile_portfolios(run: TableRun) -> TableOutput:
    """Quartiles of coins sorted on their ex-ante beta: partition = holding month m.

    Formed at the end of m-1 on the betas for m (`neural_betas`, data up to m-1), held over m: per
    quartile the equal-weighted mean beta and mean excess return of month m (simple return minus RF of
    the Fama-French file). Groups by rank, group = floor(rank Q / n) (sizes differ by at most one).
    One sort per method (neural_mlp, and rolling_ols for comparison), model and market.
    """
    con, start, end, c = run.con, run.start, run.end, run.config
    ensure_table(con, NEURAL_BETAS)
    ensure_table(con, CROSS_ASSET_MONTHLY)
    betas = con.execute(_sql("select_neural_betas_window"), {"start": start, "end": end}).df()
    hist = con.execute(_sql("select_cross_asset_history"), {"end": end}).df()
    hist = hist[pd.to_datetime(hist["month_start"]) >= pd.Timestamp(start)]
    coins, _, factors = wide_history(hist, start, pd.Timestamp(end) - pd.offsets.MonthBegin(1))
    frame = compute_beta_quartiles(betas, coins, factors, c.n_groups, c.min_coins)
    meta = {"parameters": md(frame_markdown(pd.DataFrame([c.model_dump()])))}
    neural = frame[(frame["method"] == NEURAL) & (frame["model"] == "single")]
    if len(neural):
        tables = []
        for market, g in neural.groupby("market"):
            s = portfolio_summary(g.rename(columns={"quartile": "group", "month_start": "month"}))
            tables.append(s.reset_index().rename(columns={"group": "quartile"}).assign(market=market))
        summary = pd.concat(tables)[["market", "quartile", "months", "mean_beta", "mean_excess_return"]]
        meta["neural_single_summary (window means; H-L = top minus bottom)"] = md(frame_markdown(summary))
    return TableOutput({checks.QUARTILE_CHECKS.table: frame}, metadata=meta, empty_reason=(
        f"needs, in a month, ex-ante betas and that month's return for >= {c.min_coins} coins; neural_betas "
        f"holds {len(betas)} rows in {start} .. {end} (exclusive)"))
