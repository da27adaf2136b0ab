"""Realised signed jumps: `rsj_daily` (SQL over the stored 5-minute log returns), the daily RSJ quantile
portfolios and long-short `rsj_portfolios_daily`, and the `rsj_backtest` summary.

Zhang & Zhao (2023), "Good volatility, bad volatility, and the cross section of cryptocurrency
returns", IRFA 89, 102712, after Bollerslev, Li & Zhao (2020, JFQA). Numerics live in
``rsj.numerics`` (oracle), ``rsj.portfolios`` and ``analytics.backtest``, the tables in ``rsj.compute``
and ``rsj.daily``, the reads in ``rsj.reads``; this module holds the configs and the asset specs.
"""

import dagster as dg
import numpy as np
import pandas as pd

from cryptofactor_assets.analytics.plots import bar_plot_png, equity_curve_png, png_markdown
from cryptofactor_assets.common import md
from cryptofactor_assets.factors.tables import FACTOR_RETURNS_DAILY
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels.tables import DAILY_PANEL
from cryptofactor_assets.partitions import week_and_previous_days, week_to_days, weekly_partitions
from cryptofactor_assets.rsj import checks
from cryptofactor_assets.rsj.compute import (
    DEFAULT_BALANCED_LEGS,
    DEFAULT_FEE_BPS,
    DEFAULT_LAG_RULE,
    DEFAULT_MIN_DAYS,
    DEFAULT_MIN_MARKET_CAP,
    DEFAULT_N_QUANTILES,
    DEFAULT_TOP_N,
    DEFAULT_TRAILING_DAYS,
    PORTFOLIO_LOOKBACK_DAYS,
    PORTFOLIO_PARAMETERS,
    backtest_markdown,
    compute_rsj_backtest,
    compute_rsj_portfolios,
    lag_rule,
    portfolio_summary,
    rsj_backtest_frame,
)
from cryptofactor_assets.rsj.daily import rsj_daily_insert
from cryptofactor_assets.rsj.numerics import (
    BARS_PER_DAY,
    DEFAULT_INCLUDE_MIDNIGHT,
    DEFAULT_MAX_ZERO_SHARE,
    DEFAULT_MIN_SHARE,
    REASONS,
)
from cryptofactor_assets.rsj.reads import (
    market_returns,
    read_portfolio_inputs,
    read_rsj_portfolios,
    rsj_daily_summary,
)
from cryptofactor_assets.rsj.tables import RSJ_BACKTEST, RSJ_DAILY, RSJ_PORTFOLIOS_DAILY
from cryptofactor_assets.sources.tables import RAW_KLINES_5M
from cryptofactor_assets.storage.warehouse import (
    ensure_table,
    frame_markdown,
    load_sql,
    table_preview_markdown,
)

GROUP = "rsj"


# --------------------------------------------------------------------------------------------
# 1. rsj_daily
# --------------------------------------------------------------------------------------------
class RSJDailyConfig(dg.Config):
    min_share: float = DEFAULT_MIN_SHARE  # a coin-day needs n_bars >= min_share * 288 for an RSJ
    max_zero_share: float = DEFAULT_MAX_ZERO_SHARE  # more exactly-zero returns than this share: stale (1: off)
    include_midnight: bool = DEFAULT_INCLUDE_MIDNIGHT  # count the 00:00 bar's return from the 23:55 close before


@table_asset(checks.RSJ_DAILY_CHECKS, group=GROUP, partitions_def=weekly_partitions, kinds={"duckdb", "sql"},
             config=RSJDailyConfig,
             deps=[dg.AssetDep(RAW_KLINES_5M, partition_mapping=week_to_days)])  # the week's 7 days of bars
def rsj_daily_asset(run: TableRun) -> TableOutput:
    """Per coin-day (UTC) realised variance, semivariances, signed jump, RSJ, skewness and kurtosis.

    From the 5-minute log returns r (none across a gap or a coin): the stored `raw_klines_5m.log_ret`
    plus, with `include_midnight` (default), each day's midnight return, ln(close of the 00:00 bar /
    close of the previous day's 23:55 bar), so a complete day has 288 returns. RV = sum r², RS+ = sum
    r² 1{r>0}, RS- = sum r² 1{r<0}, SJ = RS+ - RS-, RSJ = SJ / RV (Bollerslev, Li & Zhao 2020; Zhang &
    Zhao 2023), RSkew = sqrt(n) sum r³ / RV^1.5, RKurt = n sum r⁴ / RV² (Amaya et al. 2015). No RSJ
    (`reason`, the first that applies): fewer than `min_share` x 288 bars (too_few_bars), RV = 0
    (zero_rv), more than `max_zero_share` of the returns exactly zero (stale: a stale or tick-quantised
    price). One GROUP BY in DuckDB (`sql/rsj/insert_rsj_daily.sql`). Partitioned by ISO week: a partition
    holds the coin-days of its 7 days, from their bars and the 23:55 bar the day before the first.
    """
    con, start, end, config = run.con, run.start, run.end, run.config

    def metadata(_written) -> dict:
        summary = rsj_daily_summary(con, start, end)
        preview = table_preview_markdown(con, load_sql("select_rsj_daily_window", domain="rsj"),
                                         {"start": start, "end": end}, 5)
        meta = {
            "summary": md(frame_markdown(summary)),
            "parameters": md(f"min_share={config.min_share} (a coin-day needs >= "
                             f"{config.min_share * BARS_PER_DAY:g} of {BARS_PER_DAY} bars), "
                             f"max_zero_share={config.max_zero_share} (more exactly-zero returns: stale), "
                             f"include_midnight={config.include_midnight}"),
            "preview": md(preview),
        }
        if len(summary):
            row = summary.iloc[0]
            meta["coin_days_without_rsj"] = {**{reason: int(row[reason]) for reason in REASONS},
                                             "no_bars_inside_coin_span": int(row["missing_days"])}
            for key in ("mean_rsj", "sj_share_qv", "sj_share_qv_pooled"):
                if pd.notna(row[key]):
                    meta[key] = float(row[key])
        # No PNG here: Dagster copies the metadata into each of the window's partition events (a 2-year
        # backfill = 731 copies); the curves live in the unpartitioned rsj_backtest.
        return meta

    # no bars (e.g. a files source with market caps only): no RSJ
    insert = rsj_daily_insert(con, start, end, config.min_share, config.max_zero_share, config.include_midnight)
    return TableOutput({RSJ_DAILY: insert}, metadata=metadata,
                       empty_reason=f"needs 5-minute bars; raw_klines_5m holds none in {start} .. {end} (exclusive)")


# --------------------------------------------------------------------------------------------
# 2. rsj_portfolios_daily
# --------------------------------------------------------------------------------------------
class RSJPortfolioConfig(dg.Config):
    top_n: int = DEFAULT_TOP_N
    trailing_days: int = DEFAULT_TRAILING_DAYS  # beyond the default the read reaches before the declared deps
    n_quantiles: int = DEFAULT_N_QUANTILES
    fee_bps: float = DEFAULT_FEE_BPS
    min_market_cap: float = DEFAULT_MIN_MARKET_CAP  # USD at formation, where the data have caps; <= 0: no filter
    balanced_legs: bool = DEFAULT_BALANCED_LEGS  # Q1 and Q<n> hold floor(n / n_quantiles) coins each


#: weekly partitions: holding days Mon..Sun of week w are formed on Sun of w-1 .. Sat of w, so the week's
#: own rsj_daily partition is an input, but only its days before each holding day are read
#: (`read_portfolio_inputs`: RSJ dated < end - 1; day d is formed on d-1's RSJ only); the look-back of
#: the default trailing_days (`portfolio_lookback`) is declared as whole weeks (31 days -> 5)
_PORTFOLIO_INPUTS = week_and_previous_days(PORTFOLIO_LOOKBACK_DAYS)


@table_asset(checks.RSJ_PORTFOLIOS_CHECKS, group=GROUP, partitions_def=weekly_partitions, config=RSJPortfolioConfig,
             deps=[dg.AssetDep(RSJ_DAILY, partition_mapping=_PORTFOLIO_INPUTS),
                   dg.AssetDep(DAILY_PANEL, partition_mapping=_PORTFOLIO_INPUTS)])
def rsj_portfolios_daily_asset(run: TableRun) -> TableOutput:
    """Daily RSJ quantile portfolios (EW and VW) and the long Q1 - short Q5 strategy, per HOLDING day d.

    Formed at the end of d-1 on RSJ of d-1 among the `top_n` coins by trailing mean dollar volume over
    (d-1-k, d-1] (k = `trailing_days`) with a market cap at d-1 of at least `min_market_cap` (USD 1M; on a
    day when no candidate has a cap, as with the Binance and Bybit kline files, no cap filter:
    `cap_filter` = no_caps), held over d (return close(d) / close(d-1) - 1). Balanced legs: with n coins,
    Q1 (lowest RSJ) and Q5 (highest) hold k = floor(n / 5) coins each, the middle quantiles the rest;
    coins ordered by (RSJ, symbol), so ties go by symbol. VW weights = market cap at d-1; a day where a
    universe coin lacks a cap uses trailing dollar volume (`weight_source`). Turnover: two-sided, against the previous weights drifted over d-1 (computed over
    a look-back, so a partition's first day equals an unbroken run); cost = `fee_bps` / 1e4 x turnover,
    net = gross - cost (Zhang & Zhao 2023; `rsj.portfolios.rsj_quintile_portfolios`). Partitioned by ISO
    week: a partition holds the 7 holding days of its week (formed on Sunday before .. Saturday).
    """
    config = run.config
    ensure_table(run.con, RSJ_DAILY)  # an older file's rsj_daily gains the parameter columns read (NULL until rebuilt)
    rsj, panel = read_portfolio_inputs(run.con, run.start, run.end, config.trailing_days)
    frame, out = compute_rsj_portfolios(rsj, panel, run.start, run.end, config.top_n, config.trailing_days,
                                        config.n_quantiles, config.fee_bps, config.min_market_cap,
                                        config.balanced_legs)
    params = (f"top_n={config.top_n}, trailing_days={config.trailing_days}, n_quantiles={config.n_quantiles}, "
              f"fee_bps={config.fee_bps}, min_market_cap={config.min_market_cap:g}, "
              f"balanced_legs={config.balanced_legs}; rsj_daily: "
              + ", ".join(f"{c}={sorted(set(frame[c].dropna()))}"
                          for c in ("min_share", "max_zero_share", "include_midnight")))
    meta: dict = {"parameters": md(params)}
    if out is None or frame.empty:
        with_rsj = (rsj.loc[np.isfinite(rsj["rsj"].to_numpy(dtype=float))].groupby("date").size()
                    if len(rsj) else pd.Series(dtype=int))
        meta["note"] = (f"needs a formation day (the day before a holding day) with >= {config.n_quantiles} "
                        f"universe coins having an RSJ and a held-day return; the formation days hold at most "
                        f"{int(with_rsj.max()) if len(with_rsj) else 0} coins with an RSJ: empty result")
        return TableOutput({RSJ_PORTFOLIOS_DAILY: frame}, metadata=meta)
    vw = frame.loc[(frame["portfolio"] == "LS") & (frame["weighting"] == "vw")]
    meta.update({
        "summary": md(frame_markdown(portfolio_summary(frame))),
        "notes": md("\n".join(f"- {n}" for n in out.notes) or "- none"),
        "vw_fallback_days": int((vw["weight_source"] == "dollar_volume").sum()),
        "cap_filter_days": {k: int(v) for k, v in vw["cap_filter"].value_counts().items()},
        "mean_universe": float(frame["n_universe"].mean()),
    })
    return TableOutput({RSJ_PORTFOLIOS_DAILY: frame}, metadata=meta)


# --------------------------------------------------------------------------------------------
# 3. rsj_backtest
# --------------------------------------------------------------------------------------------
class RSJBacktestConfig(dg.Config):
    nw_lags: str = DEFAULT_LAG_RULE  # '4t100' | 't14' | 'nw1994' | an integer as text
    min_days: int = DEFAULT_MIN_DAYS  # fewer held days: an empty table with a note


def _backtest_plots(ports: pd.DataFrame) -> dict:
    """The LS equity curves (net and gross) and the mean net return by quantile, as metadata PNGs."""
    ls = ports.loc[ports["portfolio"] == "LS"]
    curves = ls.pivot(index="date", columns="weighting", values="net").add_suffix(" net")
    curves = curves.join(ls.pivot(index="date", columns="weighting", values="gross").add_suffix(" gross"))
    quint = (ports.loc[ports["portfolio"] != "LS"].pivot_table(index="portfolio", columns="weighting",
                                                              values="net", aggfunc="mean") * 1e4)
    meta = {}
    if len(curves) >= 2:
        meta["equity_curve"] = md(png_markdown(equity_curve_png(
            curves[sorted(curves.columns)], "RSJ long Q1 (low RSJ) - short Q5 (high RSJ)"), alt="RSJ equity curve"))
    if len(quint):
        meta["mean_net_by_quantile_bp"] = md(png_markdown(bar_plot_png(
            quint, "Mean daily net return by RSJ quantile", "bp per day"), alt="quantile means"))
    return meta


@table_asset(checks.RSJ_BACKTEST_CHECKS, group=GROUP, config=RSJBacktestConfig,
             deps=[RSJ_PORTFOLIOS_DAILY, FACTOR_RETURNS_DAILY])
def rsj_backtest_asset(run: TableRun) -> TableOutput:
    """Backtest of the RSJ strategy over every stored holding day: long Q1 - short Q5, EW and VW, gross
    and net, plus each quintile (long format: portfolio, weighting, returns, stat, value).

    Statistics (`analytics.backtest.backtest_report`, 365 days a year): mean with Newey-West t,
    annualised return, CAGR, vol, Sharpe, Sortino, max drawdown, win rate, beta and alpha against the
    market factor with NW t-stats (factor_returns_daily.mkt when built, else the EW mean daily_panel
    return, recorded in `market_source`), average coins per leg. Metadata: the LS table and equity curves.
    """
    config = run.config
    ports = read_rsj_portfolios(run.con)
    dates = pd.DatetimeIndex(ports["date"].unique())
    market, market_source, market_note = market_returns(run.con, dates)
    reports = compute_rsj_backtest(ports, market, lag_rule(config.nw_lags), config.min_days)
    if not reports:
        return TableOutput({RSJ_BACKTEST: pd.DataFrame()}, metadata={
            "note": f"needs >= {config.min_days} held days in rsj_portfolios_daily; it holds {len(dates)}: "
                    "empty table"})
    frame, mixed = rsj_backtest_frame(ports, reports, market_source, str(config.nw_lags))
    ls_reports = {f"{w.upper()} {kind}": reports[("LS", w, kind)] for w in ("ew", "vw") for kind in ("gross", "net")
                  if ("LS", w, kind) in reports}
    ls = ports.loc[ports["portfolio"] == "LS"]
    meta = {
        "market": market_note,
        "parameters": md(f"nw_lags={config.nw_lags}; portfolios: "
                         + ", ".join(f"{c}={frame[c].iloc[0]}" for c in PORTFOLIO_PARAMETERS)
                         + (f" (VARY over the stored days: {mixed}; latest shown)" if mixed else "")),
        "vw_fallback_days": int(((ls["weighting"] == "vw") & (ls["weight_source"] == "dollar_volume")).sum()),
    }
    if ls_reports:
        meta["long_short_table"] = md(backtest_markdown(ls_reports))
    meta.update(_backtest_plots(ports))
    return TableOutput({RSJ_BACKTEST: frame}, metadata=meta)
