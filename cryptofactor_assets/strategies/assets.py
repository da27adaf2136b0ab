"""The strategy assets: one weights table per strategy family, the daily book of every strategy under
one cost model (`strategy_returns`). Numerics in ``strategies.signals``, ``strategies.execution``,
``strategies.costs`` and ``strategies.compute``; this module holds the configs and the asset specs.

Unpartitioned on purpose: the forecasts come from the unpartitioned walk-forward, and a strategy's
book is path-dependent (drifted weights, turnover against yesterday's book), so each run rebuilds the
whole history from the stored inputs in one pass.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from cryptofactor_assets import settings
from cryptofactor_assets.common import md
from cryptofactor_assets.factors.characteristics import LTW_CHARACTERISTICS
from cryptofactor_assets.factors.tables import FACTOR_RETURNS_DAILY, WEEKLY_CHARACTERISTICS
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels.tables import DAILY_PANEL
from cryptofactor_assets.prediction.tables import FEATURE_MATRIX, PREDICTION_WALK_FORWARD
from cryptofactor_assets.rsj.portfolios import (
    DEFAULT_N_QUANTILES,
    DEFAULT_TOP_N,
    DEFAULT_TRAILING_DAYS,
    rsj_quintile_portfolios,
)
from cryptofactor_assets.rsj.reads import read_portfolio_inputs
from cryptofactor_assets.rsj.tables import RSJ_DAILY
from cryptofactor_assets.sources.tables import RAW_FUNDING_RATES
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import ensure_table, frame_markdown, load_sql, table_exists
from cryptofactor_assets.strategies import checks
from cryptofactor_assets.strategies import compute as c
from cryptofactor_assets.strategies.costs import CostModel
from cryptofactor_assets.strategies.tables import (
    CHARACTERISTIC_LS_WEIGHTS,
    FORECAST_QUINTILE_WEIGHTS,
    KELLY_WEIGHTS,
    RSJ_STRATEGY_WEIGHTS,
    SIGNIFICANCE_WEIGHTS,
    STRATEGY_ATTRIBUTION,
    STRATEGY_COMPARISON,
    STRATEGY_RETURNS,
    WEIGHTS_TABLES,
)

GROUP = "strategies"
_COST = CostModel()


def _read(run: TableRun, name: str, table: str, dates=("date",)) -> pd.DataFrame:
    """``sql/strategies/<name>.sql`` over ``table`` (created empty when it was never materialised)."""
    ensure_table(run.con, table)
    return read_sql_frame(run.con, load_sql(name, domain="strategies"), date_columns=dates)


def _forecasts(run: TableRun) -> pd.DataFrame:
    forecasts = _read(run, "select_prediction_forecasts_for_strategies", "prediction_forecasts", ("week_start",))
    caps = _read(run, "select_weekly_characteristics_all", WEEKLY_CHARACTERISTICS, ("week_start",))
    return c.forecast_frame(forecasts, caps)


def _summary(frame: pd.DataFrame) -> dict:
    """Decisions, coins held and gross exposure per strategy (metadata)."""
    if frame.empty:
        return {}
    held = frame[frame["symbol"].notna()]
    per = frame.groupby("strategy").agg(decisions=("date", "nunique"), first=("date", "min"), last=("date", "max"))
    per["avg_coins"] = held.groupby(["strategy", "date"]).size().groupby("strategy").mean()
    per["avg_gross"] = held.groupby(["strategy", "date"])["weight"].apply(lambda w: w.abs().sum()).groupby(
        "strategy").mean()
    return {"strategies": md(frame_markdown(per.reset_index()))}


def _weights_output(table: str, frame: pd.DataFrame, empty_reason: str, parameters: str,
                    extra: dict | None = None) -> TableOutput:
    return TableOutput({table: frame}, metadata={"parameters": md(parameters), **_summary(frame), **(extra or {})},
                       empty_reason=empty_reason)


# --------------------------------------------------------------------------------------------
# 1. One weights table per family
# --------------------------------------------------------------------------------------------
class QuintileConfig(dg.Config):
    n_quantiles: int = 5


@table_asset(checks.FORECAST_QUINTILE_WEIGHTS, group=GROUP, config=QuintileConfig,
             deps=[PREDICTION_WALK_FORWARD, WEEKLY_CHARACTERISTICS])
def forecast_quintile_weights(run: TableRun) -> TableOutput:
    """Target weights of a quintile long-short on each regression model's walk-forward forecast.

    For every scheme and model (OLS, Ridge, Lasso, Elastic Net) of `prediction_forecasts`: at the close
    of the Sunday ending formation week t, long the top quintile and short the bottom quintile of the
    forecast of week t+1's excess return, equal-weighted (`ew`) or by market cap of week t (`vw`), each
    leg summing to 1 (breakpoints as the characteristic sorts). Only out-of-sample forecasts exist, so
    every weight uses data up to its date.
    """
    n = run.config.n_quantiles
    return _weights_output(FORECAST_QUINTILE_WEIGHTS, c.forecast_quintile_weights(_forecasts(run), n),
                           "needs prediction_forecasts of a regression model",
                           f"n_quantiles={n}; legs: top (long) / bottom (short) of the forecast")


class SignificanceConfig(dg.Config):
    gross_leverage: float = 2.0  # sum |w| per decision (2 = one unit long, one short)


@table_asset(checks.SIGNIFICANCE_WEIGHTS, group=GROUP, config=SignificanceConfig, deps=[PREDICTION_WALK_FORWARD])
def significance_weights(run: TableRun) -> TableOutput:
    """Target weights sized by significance: each coin's forecast divided by its standard error.

    z_i = forecast_i / forecast_se_i (the standard error of the fitted conditional mean from the fold's
    training window), demeaned across the week's coins (dollar-neutral) and scaled to a gross leverage
    target: w_i = L (z_i - mean z) / sum |z_j - mean z|. A large but noisy forecast gets a smaller
    position than an equally large precise one.
    """
    lev = run.config.gross_leverage
    return _weights_output(SIGNIFICANCE_WEIGHTS, c.significance_strategy_weights(_forecasts(run), lev),
                           "needs prediction_forecasts with forecast_se", f"gross_leverage={lev}")


class KellyConfig(dg.Config):
    fraction: float = 0.5  # of the full-Kelly stake (half Kelly)
    cap: float = 0.1  # largest stake in one coin
    max_gross: float = 1.0  # stakes above this sum are scaled down (the rest is cash)


@table_asset(checks.KELLY_WEIGHTS, group=GROUP, config=KellyConfig, deps=[PREDICTION_WALK_FORWARD, FEATURE_MATRIX])
def kelly_weights(run: TableRun) -> TableOutput:
    """Long-only fractional Kelly stakes on each direction model's calibrated probability of an up week.

    f* = p - (1 - p) / b (Kelly 1956), p the calibrated P(up) of `prediction_forecasts` (calibrated
    inside the fold's training window), b the payoff ratio (mean gain of up weeks / mean loss of down
    weeks of the eligible coins) of the fold's training window only; stake = min(fraction x f*, cap),
    scaled down when the week's stakes exceed max_gross. No position when the edge is negative
    (f* <= 0; a blocking check).
    """
    cfg = run.config
    folds = _read(run, "select_prediction_fold_windows", "prediction_folds", ("train_start", "train_end"))
    targets = _read(run, "select_eligible_targets", FEATURE_MATRIX, ("week_start",))
    payoffs = c.fold_payoff_ratios(folds, targets)
    frame = c.kelly_strategy_weights(_forecasts(run), payoffs, cfg.fraction, cfg.cap, cfg.max_gross)
    return _weights_output(KELLY_WEIGHTS, frame, "needs calibrated direction forecasts (p_up_calibrated)",
                           f"fraction={cfg.fraction}, cap={cfg.cap}, max_gross={cfg.max_gross}",
                           {"payoff_ratios": md(frame_markdown(payoffs))} if len(payoffs) else None)


class CharacteristicConfig(dg.Config):
    characteristics: list[str] = list(LTW_CHARACTERISTICS)
    n_quantiles: int = 5


@table_asset(checks.CHARACTERISTIC_LS_WEIGHTS, group=GROUP, config=CharacteristicConfig,
             deps=[WEEKLY_CHARACTERISTICS])
def characteristic_ls_weights(run: TableRun) -> TableOutput:
    """Target weights of the LTW characteristic long-shorts (Q5 - Q1 of each characteristic), EW and VW.

    The coins of `characteristic_portfolios` (eligible coins of week t, breakpoints over all of them),
    decided at the close of week t's Sunday, so the executable book (`strategy_returns`) can charge
    the same costs as every other strategy.
    """
    cfg = run.config
    chars = _read(run, "select_weekly_characteristics_all", WEEKLY_CHARACTERISTICS, ("week_start",))
    frame = c.characteristic_weights(chars, cfg.characteristics, cfg.n_quantiles) if len(chars) else pd.DataFrame()
    return _weights_output(CHARACTERISTIC_LS_WEIGHTS, frame, "needs weekly_characteristics",
                           f"characteristics={list(cfg.characteristics)}, n_quantiles={cfg.n_quantiles}")


class RSJStrategyConfig(dg.Config):
    top_n: int = DEFAULT_TOP_N
    trailing_days: int = DEFAULT_TRAILING_DAYS
    n_quantiles: int = DEFAULT_N_QUANTILES


@table_asset(checks.RSJ_STRATEGY_WEIGHTS, group=GROUP, config=RSJStrategyConfig, deps=[RSJ_DAILY, DAILY_PANEL])
def rsj_strategy_weights(run: TableRun) -> TableOutput:
    """Daily target weights of the RSJ strategy: long the lowest-RSJ quintile, short the highest.

    The formation rule of `rsj_portfolios_daily` (`rsj.portfolios`: trailing dollar-volume universe,
    RSJ quintiles, EW and VW legs each summing to 1), decided at every day's close; days that form no
    portfolio hold nothing.
    """
    cfg = run.config
    for table in (DAILY_PANEL, RSJ_DAILY):  # a short range may have built neither yet
        ensure_table(run.con, table)
    bounds = run.con.execute(load_sql("select_daily_panel_bounds", domain="strategies")).fetchone()
    if bounds[0] is None:
        return _weights_output(RSJ_STRATEGY_WEIGHTS, pd.DataFrame(), "needs daily_panel and rsj_daily", "")
    start, end = bounds[0] + dt.timedelta(days=cfg.trailing_days + 1), bounds[1] + dt.timedelta(days=1)
    rsj, panel = read_portfolio_inputs(run.con, start, end, cfg.trailing_days)
    if rsj.empty or rsj["rsj"].notna().sum() == 0:
        return _weights_output(RSJ_STRATEGY_WEIGHTS, pd.DataFrame(), "needs rsj_daily (5-minute bars)", "")
    ports = rsj_quintile_portfolios(rsj, panel, cfg.top_n, cfg.trailing_days, cfg.n_quantiles)
    days = pd.DatetimeIndex(sorted(ports.universe["date_formed"].unique()))
    days = pd.date_range(days.min(), days.max(), freq="D") if len(days) else days
    frame = c.rsj_weights(ports.weights, days, cfg.n_quantiles)
    return _weights_output(RSJ_STRATEGY_WEIGHTS, frame, "no day formed an RSJ portfolio",
                           f"top_n={cfg.top_n}, trailing_days={cfg.trailing_days}, n_quantiles={cfg.n_quantiles}")


# --------------------------------------------------------------------------------------------
# 2. The daily book of every strategy under one cost model
# --------------------------------------------------------------------------------------------
class CostConfig(dg.Config):
    # bybit_linear | bybit_spot | binance_spot | binance_usdm (strategies/costs.py); default CRYPTOFACTOR_VENUE
    venue: str = settings.default_venue()
    side: str = _COST.side  # taker | maker
    spread: str = _COST.spread  # corwin_schultz | abdi_ranaldo | constant | none
    spread_bps: float = _COST.spread_bps  # full spread of the constant model and the estimates' fallback
    funding: bool = _COST.funding  # charge funding to perpetual positions (perp venues only)
    lag_days: int = _COST.lag_days  # trade at the close of signal day + lag_days
    # what a position earns the day after its coin's data end for good: 0 = out at the last price, -1 = total loss
    delisting_return: float = 0.0


def cost_model(config) -> CostModel:
    return CostModel(config.venue, config.side, config.spread, config.spread_bps, config.funding, config.lag_days)


@table_asset(checks.STRATEGY_RETURNS, group=GROUP, config=CostConfig,
             deps=[*WEIGHTS_TABLES, DAILY_PANEL, RAW_FUNDING_RATES])
def strategy_returns(run: TableRun) -> TableOutput:
    """Every strategy's daily book under one cost model: gross, fees, spread, funding, net, turnover.

    Each family's target weights are executed at the close of signal day + `lag_days` (default 1: never
    at the close that formed the signal), held with drifting weights (`strategies.execution`), and
    charged: fees of the venue and side on the turnover against the drifted weights (default Bybit USDT
    perpetuals taker 5.5 bp), half the estimated spread per unit traded (Corwin-Schultz from the day's
    5-minute bars, `daily_panel.spread_cs`; 10 bp full spread where no estimate exists), and the
    funding settled on perpetual positions (`raw_funding_rates`; a short earns positive rates). The
    parameters are stored in `cost_model` on every row. A position in a coin whose data end for good is
    closed the next day at `delisting_return` (default 0: out at its last price; -1: a total loss),
    counted in `n_delisted`; the other positions are never rescaled.
    """
    cost = cost_model(run.config)
    for table in WEIGHTS_TABLES:
        ensure_table(run.con, table)
    weights = read_sql_frame(run.con, load_sql("select_strategy_weights", domain="strategies"), date_columns=["date"])
    panel = _read(run, "select_daily_panel_for_strategies", DAILY_PANEL)
    funding = _read(run, "select_funding_rates", RAW_FUNDING_RATES, ())
    frame, notes = c.compute_strategy_returns(weights, panel, funding, cost, run.config.delisting_return)
    meta = {"cost_model": cost.describe()}
    if notes:
        meta["notes"] = md("\n".join(f"- {n}" for n in notes))
    if len(frame):
        per = frame.groupby(["family", "strategy"]).agg(days=("date", "size"), gross_bp=("gross", "mean"),
                                                        net_bp=("net", "mean"), turnover=("turnover", "mean"))
        per[["gross_bp", "net_bp"]] *= 1e4
        meta["mean_daily_returns"] = md(frame_markdown(per.reset_index()))
    return TableOutput({STRATEGY_RETURNS: frame}, metadata=meta, empty_reason="needs strategy weights and daily_panel")


# --------------------------------------------------------------------------------------------
# 3. Comparison and attribution
# --------------------------------------------------------------------------------------------
class ComparisonConfig(dg.Config):
    nw_lags: str = "4t100"  # Newey-West lags: a rule (4t100, t14, nw1994) or an integer as text
    min_days: int = 30  # strategies with fewer days are not compared


#: Columns of the comparison shown in the metadata and the tear sheet.
SHOWN = ["strategy", "basis", "ann_return", "sharpe", "sharpe_t_nw", "max_drawdown", "turnover_ann", "cost_drag",
         "fee_drag", "spread_drag", "funding_drag", "cmkt_beta", "alpha_3f_ann", "alpha_3f_t_nw"]


def _lags(text: str):
    return int(text) if text.strip().isdigit() else text.strip()


def _comparison_plots(comparison: pd.DataFrame, returns: pd.DataFrame) -> dict:
    """Net equity curves of each family's best strategy (by net Sharpe) and gross vs net Sharpe ratios."""
    from cryptofactor_assets.analytics.plots import bar_plot_png, equity_curve_png, png_markdown

    net = comparison[comparison["basis"] == "net"]
    best = net.sort_values("sharpe", ascending=False).drop_duplicates("family")["strategy"].tolist()
    curves = (returns[returns["strategy"].isin(best)].pivot(index="date", columns="strategy", values="net")
              .sort_index().fillna(0.0))
    sharpe = comparison.pivot(index="strategy", columns="basis", values="sharpe").reindex(best)
    meta = {}
    if len(curves) >= 2:
        meta["net_equity_curves"] = md(png_markdown(equity_curve_png(curves, "Net equity: best strategy of each family"),
                                                    alt="net equity curves"))
    if len(sharpe):
        meta["sharpe_gross_vs_net"] = md(png_markdown(bar_plot_png(sharpe, "Sharpe ratio, gross and net of costs", ""),
                                                      alt="Sharpe gross vs net"))
    return meta


@table_asset(checks.STRATEGY_COMPARISON, group=GROUP, config=ComparisonConfig,
             deps=[STRATEGY_RETURNS, FACTOR_RETURNS_DAILY])
def strategy_comparison(run: TableRun) -> TableOutput:
    """Every strategy, gross and net of costs: return, Sharpe with its Newey-West t, Sortino, drawdown and its
    duration, win rate, turnover, cost drag split into fees / spread / funding, market beta (CMKT) and the
    alpha of the regression on the daily market, size and momentum factors (NW t).

    Statistics from `analytics.performance` (cross-checked with quantstats in the tests), 365 days a
    year, no risk-free rate (the books are zero-investment, or long-only Kelly books held in excess of
    cash). Also writes `strategy_attribution`: each day's net return split into beta_k x factor_k,t,
    alpha and residual (full-sample betas: an ex-post decomposition). The cost parameters are columns.
    """
    cfg = run.config
    returns = _read(run, "select_strategy_returns", STRATEGY_RETURNS)
    factors = None
    if table_exists(run.con, FACTOR_RETURNS_DAILY):
        factors = read_sql_frame(run.con, load_sql("select_factor_returns_daily_all", domain="strategies"),
                                 date_columns=["date"])
        factors = factors if len(factors) else None
    if returns.empty:
        return TableOutput({STRATEGY_COMPARISON: pd.DataFrame(), STRATEGY_ATTRIBUTION: pd.DataFrame()},
                           empty_reason="needs strategy_returns")
    comparison, attribution, notes = c.compute_strategy_comparison(returns, factors, _lags(cfg.nw_lags), cfg.min_days)
    meta = {"cost_model": returns["cost_model"].iloc[0]}
    if notes:
        meta["notes"] = md("\n".join(f"- {n}" for n in notes))
    if len(comparison):
        shown = comparison[SHOWN].sort_values(["strategy", "basis"])
        meta["comparison"] = md(frame_markdown(shown))
        meta.update(_comparison_plots(comparison, returns))
    return TableOutput({STRATEGY_COMPARISON: comparison, STRATEGY_ATTRIBUTION: attribution}, metadata=meta,
                       empty_reason="no strategy with enough days")
