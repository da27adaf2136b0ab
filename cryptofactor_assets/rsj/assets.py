"""Realised signed jumps (issue 5): `rsj_daily` (SQL over the stored 5-minute log returns), the daily
RSJ quantile portfolios and long-short `rsj_portfolios_daily`, and the `rsj_backtest` summary.

Zhang & Zhao (2023), "Good volatility, bad volatility, and the cross section of cryptocurrency
returns", IRFA 89, 102712, after Bollerslev, Li & Zhao (2020, JFQA). Numerics live in
``rsj.numerics`` (oracle), ``rsj.portfolios`` and ``reporting.backtest``; this module reads inputs
(with the look-back they need) from DuckDB, calls them and writes whole partition windows.
"""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.common import POOL, SINGLE_RUN, connect, lean_metadata, md, window_dates
from cryptofactor_assets.estimators.ltw_calendar import as_datetime_ns
from cryptofactor_assets.panels.assets import DAILY_PANEL
from cryptofactor_assets.partitions import week_and_previous_days, week_to_days, weekly_partitions
from cryptofactor_assets.reporting.backtest import DEFAULT_LAG_RULE, BacktestReport, backtest_report
from cryptofactor_assets.reporting.plots import bar_plot_png, equity_curve_png, png_markdown
from cryptofactor_assets.rsj import checks
from cryptofactor_assets.rsj.daily import write_rsj_daily
from cryptofactor_assets.rsj.numerics import BARS_PER_DAY, DEFAULT_MIN_SHARE
from cryptofactor_assets.rsj.portfolios import RSJPortfolios, rsj_quintile_portfolios
from cryptofactor_assets.sources.assets import RAW_KLINES_5M
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.warehouse import (
    ensure_table,
    frame_markdown,
    replace_frame,
    replace_table,
    table_preview_markdown,
)

RSJ_DAILY = checks.RSJ_DAILY
RSJ_PORTFOLIOS_DAILY = checks.RSJ_PORTFOLIOS_DAILY
RSJ_BACKTEST = checks.RSJ_BACKTEST
#: Key of the daily factors (issue 4); read by name so this module does not import the factor domain.
FACTOR_RETURNS_DAILY = "factor_returns_daily"
GROUP = "rsj"

DEFAULT_TOP_N = 50
DEFAULT_TRAILING_DAYS = 30
DEFAULT_N_QUANTILES = 5
DEFAULT_FEE_BPS = 0.5
#: Days read before the holding day d: formation d-1 needs the drifted weights of d-2,
#: whose universe needs the trailing dollar volume of (d-2-k, d-2], k = trailing_days.
PORTFOLIO_LOOKBACK_DAYS = DEFAULT_TRAILING_DAYS + 1
#: The backtest uses factor_returns_daily.mkt when it covers at least this share of the held days.
MARKET_MIN_COVERAGE = 0.5

PORTFOLIO_COLUMNS = [
    "date", "date_formed", "weighting", "weight_source", "portfolio", "quantile", "gross", "turnover", "cost",
    "net", "n_coins", "n_long", "n_short", "n_universe", "top_n", "trailing_days", "n_quantiles", "fee_bps",
    "min_share",
]
BACKTEST_STATS = [
    "n_periods", "mean", "mean_t_nw", "nw_lags", "ann_return", "cagr", "total_return", "ann_vol", "sharpe",
    "sortino", "max_drawdown", "win_rate", "beta", "beta_t_nw", "alpha", "alpha_ann", "alpha_t_nw",
    "market_lags", "n_market_periods", "avg_coins_long", "avg_coins_short",
]


def _ts(d) -> pd.Timestamp:
    return pd.Timestamp(d)


def _table_exists(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()[0])


def _read(con, sql: str, params, dates=("date",)) -> pd.DataFrame:
    frame = con.execute(sql, params).df()
    for c in dates:
        if c in frame.columns:
            frame[c] = as_datetime_ns(frame[c])
    return frame


# --------------------------------------------------------------------------------------------
# 1. rsj_daily
# --------------------------------------------------------------------------------------------
class RSJDailyConfig(dg.Config):
    min_share: float = DEFAULT_MIN_SHARE  # a coin-day needs n_bars >= min_share * 288 for an RSJ


def rsj_daily_summary(con, start, end) -> pd.DataFrame:
    """One-row summary of the stored window: coin-days by reason, mean RSJ, signed-jump share of QV.

    ``missing_days``: coin-days without any bar between a coin's first and last bar day of the window
    (they have no row at all). ``sj_share_qv`` = mean over defined coin-days of |SJ| / RV (= mean |RSJ|),
    the share of quadratic variation that is signed jump, coin-day by coin-day; ``sj_share_qv_pooled`` =
    sum |SJ| / sum RV (dominated by the volatile days). Zhang & Zhao's "~18 %" is of this kind (|SJ|
    relative to RV); which average they use is not stated in the notes here, so both are shown.
    """
    return con.execute(f"""
        WITH w AS (SELECT * FROM {quote_ident(RSJ_DAILY)} WHERE date >= ? AND date < ?),
        span AS (SELECT symbol, datediff('day', min(date), max(date)) + 1 - count(*) AS missing FROM w
                 GROUP BY symbol)
        SELECT count(*) AS coin_days, count(DISTINCT symbol) AS coins, count(rsj) AS with_rsj,
               count(*) FILTER (WHERE reason = 'too_few_bars') AS too_few_bars,
               count(*) FILTER (WHERE reason = 'zero_rv') AS zero_rv,
               (SELECT coalesce(sum(missing), 0) FROM span) AS missing_days,
               avg(rsj) AS mean_rsj, stddev_samp(rsj) AS sd_rsj, avg(abs(rsj)) AS sj_share_qv,
               sum(abs(sj)) FILTER (WHERE rsj IS NOT NULL) / sum(rv) FILTER (WHERE rsj IS NOT NULL)
                   AS sj_share_qv_pooled,
               avg(rskew) AS mean_rskew, avg(rkurt) AS mean_rkurt, avg(n_bars) AS mean_bars
        FROM w""", [start, end]).df()


@dg.asset(
    name=RSJ_DAILY,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "sql"},
    deps=[dg.AssetDep(RAW_KLINES_5M, partition_mapping=week_to_days)],  # the week's 7 days of bars
    check_specs=checks.rsj_daily_specs(),
)
def rsj_daily_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: RSJDailyConfig):
    """Per coin-day (UTC) realised variance, semivariances, signed jump, RSJ, skewness and kurtosis.

    From the stored 5-minute log returns r (`raw_klines_5m.log_ret`: none across a gap, a coin or
    midnight): RV = sum r², RS+ = sum r² 1{r>0}, RS- = sum r² 1{r<0}, SJ = RS+ - RS-, RSJ = SJ / RV
    (Bollerslev, Li & Zhao 2020; Zhang & Zhao 2023), RSkew = sqrt(n) sum r³ / RV^1.5, RKurt =
    n sum r⁴ / RV² (Amaya et al. 2015). A coin-day with fewer than `min_share` x 288 bars or RV = 0
    gets no RSJ (`reason` too_few_bars | zero_rv). One GROUP BY in DuckDB (`sql/rsj/insert_rsj_daily.sql`).
    Partitioned by ISO week: a partition holds the coin-days of its 7 days (from their bars only).
    """
    start, end = window_dates(context)
    with connect(duckdb) as con:
        result = write_rsj_daily(con, start, end, config.min_share)
        summary = rsj_daily_summary(con, start, end)
        preview = table_preview_markdown(
            con, f"SELECT * FROM {quote_ident(RSJ_DAILY)} WHERE date >= ? AND date < ? ORDER BY date, symbol", [start, end], 5)
        results = checks.rsj_daily_results(con, start, end)
    meta = {
        "dagster/row_count": result.inserted,
        "rows_replaced": result.deleted,
        "summary": md(frame_markdown(summary)),
        "parameters": md(f"min_share={config.min_share} (a coin-day needs >= "
                         f"{config.min_share * BARS_PER_DAY:g} of {BARS_PER_DAY} bars)"),
        "preview": md(preview),
    }
    if not result.inserted:  # e.g. a files source with market caps only: no bars, no RSJ
        meta["note"] = f"needs 5-minute bars; raw_klines_5m holds none in {start} .. {end} (exclusive): empty result"
    if len(summary):
        row = summary.iloc[0]
        meta["coin_days_without_rsj"] = {"too_few_bars": int(row["too_few_bars"]), "zero_rv": int(row["zero_rv"]),
                                         "no_bars_inside_coin_span": int(row["missing_days"])}
        for key in ("mean_rsj", "sj_share_qv", "sj_share_qv_pooled"):
            if pd.notna(row[key]):
                meta[key] = float(row[key])
    # No PNG here: Dagster copies the metadata into each of the window's partition events (a 2-year
    # backfill = 731 copies); the curves live in the unpartitioned rsj_backtest.
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


# --------------------------------------------------------------------------------------------
# 2. rsj_portfolios_daily
# --------------------------------------------------------------------------------------------
class RSJPortfolioConfig(dg.Config):
    top_n: int = DEFAULT_TOP_N
    trailing_days: int = DEFAULT_TRAILING_DAYS  # beyond the default the read reaches before the declared deps
    n_quantiles: int = DEFAULT_N_QUANTILES
    fee_bps: float = DEFAULT_FEE_BPS


def portfolio_lookback(trailing_days: int) -> int:
    """Days read before the first holding day so its turnover equals that of an unbroken run."""
    return trailing_days + 1


def portfolios_long_format(out: RSJPortfolios, min_share: pd.Series | None = None) -> pd.DataFrame:
    """The quantile and long-short rows of ``out`` in the `rsj_portfolios_daily` layout (keyed by holding day).

    Quantile rows: gross = the quantile's held return, cost = fee x its turnover. LS rows: gross =
    r_Q1 - r_Qn, turnover of both legs, n_coins = n_long + n_short. ``min_share``: rsj_daily's parameter
    per formation day.
    """
    fee = out.fee_bps * 1e-4
    q = out.quantiles
    quant = pd.DataFrame({
        "date": q["date_held"], "date_formed": q["date_formed"], "weighting": q["weighting"],
        "weight_source": q["weight_source"], "portfolio": "Q" + q["quantile"].astype(str),
        "quantile": q["quantile"].astype("Int64"), "gross": q["ret"], "turnover": q["turnover"],
        "cost": fee * q["turnover"], "n_coins": q["n_coins"],
        "n_long": pd.array([pd.NA] * len(q), dtype="Int64"), "n_short": pd.array([pd.NA] * len(q), dtype="Int64"),
    })
    quant["net"] = quant["gross"] - quant["cost"]
    ls = out.long_short
    long_short = pd.DataFrame({
        "date": ls["date_held"], "date_formed": ls["date_formed"], "weighting": ls["weighting"],
        "weight_source": ls["weight_source"], "portfolio": "LS",
        "quantile": pd.array([pd.NA] * len(ls), dtype="Int64"), "gross": ls["gross"], "turnover": ls["turnover"],
        "cost": ls["cost"], "net": ls["net"], "n_coins": ls["n_long"] + ls["n_short"],
        "n_long": ls["n_long"].astype("Int64"), "n_short": ls["n_short"].astype("Int64"),
    })
    frame = pd.concat([quant, long_short], ignore_index=True)
    universe = out.universe.set_index("date_formed")["n_universe"]
    frame["n_universe"] = frame["date_formed"].map(universe).astype("int64")
    frame = frame.assign(top_n=out.top_n, trailing_days=out.trailing_days, n_quantiles=out.n_quantiles,
                         fee_bps=float(out.fee_bps))
    frame["min_share"] = (frame["date_formed"].map(min_share) if min_share is not None and len(min_share)
                          else np.nan)
    return frame[PORTFOLIO_COLUMNS].sort_values(["date", "weighting", "portfolio"], ignore_index=True)


def empty_portfolios() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in PORTFOLIO_COLUMNS})
    for c in ("date", "date_formed"):
        frame[c] = pd.Series(dtype="datetime64[ns]")
    for c in ("weighting", "weight_source", "portfolio"):
        frame[c] = pd.Series(dtype="object")
    return frame


def compute_rsj_portfolios(rsj: pd.DataFrame, panel: pd.DataFrame, start, end, top_n: int = DEFAULT_TOP_N,
                           trailing_days: int = DEFAULT_TRAILING_DAYS, n_quantiles: int = DEFAULT_N_QUANTILES,
                           fee_bps: float = DEFAULT_FEE_BPS) -> tuple[pd.DataFrame, RSJPortfolios | None]:
    """`rsj_portfolios_daily` rows for the holding days in [start, end).

    ``rsj``: rsj_daily rows (symbol, date, rsj, min_share) of [start - lookback, end - 1) (formation days
    only: the RSJ of a holding day is never read); ``panel``: daily_panel rows (symbol, date, ret,
    market_cap, dollar_volume) of [start - lookback, end). The rows before ``start`` only warm up the
    trailing volume and the previous weights (turnover), then are dropped.
    """
    if rsj.empty or panel.empty or not np.isfinite(rsj["rsj"].to_numpy(dtype=float)).any():
        return empty_portfolios(), None
    out = rsj_quintile_portfolios(rsj[["symbol", "date", "rsj"]], panel, top_n=top_n, trailing_days=trailing_days,
                                  n_quantiles=n_quantiles, fee_bps=fee_bps)
    min_share = rsj.groupby("date")["min_share"].max() if "min_share" in rsj.columns else None
    frame = portfolios_long_format(out, min_share)
    frame = frame.loc[(frame["date"] >= _ts(start)) & (frame["date"] < _ts(end))].reset_index(drop=True)
    return frame, out


def read_portfolio_inputs(con, start, end, trailing_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """rsj_daily of the formation days [start - lookback, end - 1) and daily_panel of [start - lookback, end).

    Holding day ``start`` is formed on start-1; its turnover compares with the weights formed on
    start-2 (drifted over start-1), whose universe needs the dollar volume of (start-2-k, start-2]:
    the earliest day read is start-1-k = start - lookback.
    """
    lo = start - dt.timedelta(days=portfolio_lookback(trailing_days))
    rsj = _read(con, f"SELECT symbol, date, rsj, min_share FROM {quote_ident(RSJ_DAILY)} WHERE date >= ? AND date < ? "
                     "ORDER BY date, symbol", [lo, end - dt.timedelta(days=1)])
    panel = _read(con, f"SELECT symbol, date, ret, market_cap, dollar_volume FROM {quote_ident(DAILY_PANEL)} "
                       "WHERE date >= ? AND date < ? ORDER BY date, symbol", [lo, end])
    return rsj, panel


@dg.asset(
    name=RSJ_PORTFOLIOS_DAILY,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "python"},
    deps=[
        # weekly partitions: holding days Mon..Sun of week w are formed on Sun of w-1 .. Sat of w, so
        # the week's own rsj_daily partition is an input, but only its days before each holding day
        # are read (`read_portfolio_inputs`: RSJ dated < end - 1; day d is formed on d-1's RSJ only);
        # the look-back of PORTFOLIO_LOOKBACK_DAYS days is declared as whole weeks (31 days -> 5)
        dg.AssetDep(RSJ_DAILY, partition_mapping=week_and_previous_days(PORTFOLIO_LOOKBACK_DAYS)),
        dg.AssetDep(DAILY_PANEL, partition_mapping=week_and_previous_days(PORTFOLIO_LOOKBACK_DAYS)),
    ],
    check_specs=checks.portfolios_specs(),
)
def rsj_portfolios_daily_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                               config: RSJPortfolioConfig):
    """Daily RSJ quantile portfolios (EW and VW) and the long Q1 - short Q5 strategy, per HOLDING day d.

    Formed at the end of d-1 on RSJ of d-1 among the `top_n` coins by trailing mean dollar volume over
    (d-1-k, d-1] (k = `trailing_days`), held over d (return close(d) / close(d-1) - 1). Q1 = lowest RSJ.
    VW weights = market cap at d-1; a day where a universe coin lacks a cap uses trailing dollar volume
    (`weight_source`). Turnover: two-sided, against the previous weights drifted over d-1 (computed over
    a look-back, so a partition's first day equals an unbroken run); cost = `fee_bps` / 1e4 x turnover,
    net = gross - cost (Zhang & Zhao 2023; `rsj.portfolios.rsj_quintile_portfolios`). Partitioned by ISO
    week: a partition holds the 7 holding days of its week (formed on Sunday before .. Saturday).
    """
    start, end = window_dates(context)
    with connect(duckdb) as con:
        rsj, panel = read_portfolio_inputs(con, start, end, config.trailing_days)
        frame, out = compute_rsj_portfolios(rsj, panel, start, end, config.top_n, config.trailing_days,
                                            config.n_quantiles, config.fee_bps)
        result = replace_frame(con, RSJ_PORTFOLIOS_DAILY, frame, "date", start, end)
        results = checks.portfolios_results(con, start, end)
    params = (f"top_n={config.top_n}, trailing_days={config.trailing_days}, n_quantiles={config.n_quantiles}, "
              f"fee_bps={config.fee_bps}, min_share={sorted(set(frame['min_share'].dropna()))}")
    meta = {"dagster/row_count": result.inserted, "rows_replaced": result.deleted, "parameters": md(params)}
    if out is None or frame.empty:
        with_rsj = (rsj.loc[np.isfinite(rsj["rsj"].to_numpy(dtype=float))].groupby("date").size()
                    if len(rsj) else pd.Series(dtype=int))
        meta["note"] = (f"needs a formation day (the day before a holding day) with >= {config.n_quantiles} "
                        f"universe coins having an RSJ and a held-day return; the formation days hold at most "
                        f"{int(with_rsj.max()) if len(with_rsj) else 0} coins with an RSJ: empty result")
        yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
        yield from results
        return
    ls = frame.loc[frame["portfolio"] == "LS"]
    per_portfolio = (frame.groupby(["weighting", "portfolio"])
                     .agg(days=("gross", "count"), mean_gross_pct=("gross", "mean"), mean_net_pct=("net", "mean"),
                          mean_turnover=("turnover", "mean"), mean_coins=("n_coins", "mean")).reset_index())
    per_portfolio[["mean_gross_pct", "mean_net_pct"]] *= 100
    vw = ls.loc[ls["weighting"] == "vw"]
    meta.update({
        "summary": md(frame_markdown(per_portfolio)),
        "notes": md("\n".join(f"- {n}" for n in out.notes) or "- none"),
        "vw_fallback_days": int((vw["weight_source"] == "dollar_volume").sum()),
        "mean_universe": float(frame["n_universe"].mean()),
    })
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


# --------------------------------------------------------------------------------------------
# 3. rsj_backtest
# --------------------------------------------------------------------------------------------
class RSJBacktestConfig(dg.Config):
    nw_lags: str = DEFAULT_LAG_RULE  # '4t100' | 't14' | 'nw1994' | an integer as text
    min_days: int = 10  # fewer held days: an empty table with a note


def _lag_rule(value: str):
    return int(value) if value.strip().isdigit() else value.strip()


def market_returns(con, dates: pd.DatetimeIndex) -> tuple[pd.Series, str, str]:
    """(market factor per holding day, source, note): factor_returns_daily.mkt when it covers at least
    MARKET_MIN_COVERAGE of ``dates``, else the equal-weighted mean daily_panel return of the coins with a
    return that day (a proxy: no caps, no universe filter, no risk-free rate)."""
    if _table_exists(con, FACTOR_RETURNS_DAILY):
        f = _read(con, f"SELECT date, mkt FROM {quote_ident(FACTOR_RETURNS_DAILY)} WHERE mkt IS NOT NULL ORDER BY date", [])
        mkt = f.set_index("date")["mkt"].astype(float)
        covered = len(mkt.index.intersection(dates))
        if len(dates) and covered >= MARKET_MIN_COVERAGE * len(dates):
            return mkt, "factor_returns_daily.mkt", (f"market = factor_returns_daily.mkt (VW minus rf) on {covered} "
                                                     f"of {len(dates)} held days")
        reason = f"factor_returns_daily.mkt covers only {covered} of {len(dates)} held days"
    else:
        reason = "factor_returns_daily not built"
    ensure_table(con, DAILY_PANEL)  # none yet (a summary run on a fresh file): no market proxy either
    ew = _read(con, f"SELECT date, avg(ret) AS mkt FROM {quote_ident(DAILY_PANEL)} WHERE ret IS NOT NULL GROUP BY date "
                    "ORDER BY date", [])
    return (ew.set_index("date")["mkt"].astype(float), "daily_panel_ew",
            f"{reason}: market = equal-weighted mean daily_panel return of all coins with a return (no rf)")


def backtest_long_frame(reports: dict[tuple[str, str, str], BacktestReport]) -> pd.DataFrame:
    """Long table (portfolio, weighting, returns, stat, value, first_date, last_date) of reports keyed by
    (portfolio, weighting, returns); every numeric BacktestReport field is a row (None -> NULL)."""
    rows = []
    for (portfolio, weighting, returns), rep in reports.items():
        d = rep.as_dict()
        for stat in BACKTEST_STATS:
            v = d.get(stat)
            rows.append({"portfolio": portfolio, "weighting": weighting, "returns": returns, "stat": stat,
                         "value": np.nan if v is None else float(v), "first_date": _ts(rep.start),
                         "last_date": _ts(rep.end)})
    return pd.DataFrame(rows)


def backtest_markdown(reports: dict[str, BacktestReport]) -> str:
    """One markdown table, a column per series (e.g. 'EW net'), rows as in BacktestReport.to_markdown."""
    tables = {name: rep.to_markdown().splitlines()[2:] for name, rep in reports.items()}
    names = list(tables)
    stats = [line.split(" | ")[0].lstrip("| ") for line in tables[names[0]]]
    values = {n: {line.split(" | ")[0].lstrip("| "): line.split(" | ", 1)[1].rstrip(" |") for line in lines}
              for n, lines in tables.items()}
    lines = ["| statistic | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += ["| " + s + " | " + " | ".join(values[n].get(s, "") for n in names) + " |" for s in stats]
    return "\n".join(lines)


def compute_rsj_backtest(ports: pd.DataFrame, market: pd.Series | None, nw_lags="4t100", min_days: int = 10
                         ) -> dict[tuple[str, str, str], BacktestReport]:
    """backtest_report of every (portfolio, weighting) series, gross and net, from rsj_portfolios_daily rows.

    LS series carry the coins per leg (n_long, n_short); beta and alpha against ``market`` (aligned by
    holding day). Series with fewer than ``min_days`` returns are skipped.
    """
    reports: dict[tuple[str, str, str], BacktestReport] = {}
    for (portfolio, weighting), g in ports.groupby(["portfolio", "weighting"], sort=True):
        g = g.set_index("date").sort_index()
        for returns in ("gross", "net"):
            r = g[returns].astype(float)
            if r.notna().sum() < max(min_days, 3):
                continue
            legs = ({"n_long": g["n_long"].astype(float), "n_short": g["n_short"].astype(float)}
                    if portfolio == "LS" else {})
            reports[(portfolio, weighting, returns)] = backtest_report(r, 365, market=market, nw_lags=nw_lags, **legs)
    return reports


def _single(frame: pd.DataFrame, column: str):
    """The value of a parameter column at the latest stored day, and whether it varies over the rows."""
    values = frame[column].dropna().unique()
    last = frame.loc[frame["date"] == frame["date"].max(), column].dropna()
    return (last.iloc[0] if len(last) else np.nan), len(values) > 1


@dg.asset(
    name=RSJ_BACKTEST,
    pool=POOL,
    group_name=GROUP,
    kinds={"duckdb", "python"},
    deps=[RSJ_PORTFOLIOS_DAILY, FACTOR_RETURNS_DAILY],
    check_specs=checks.backtest_specs(),
)
def rsj_backtest_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: RSJBacktestConfig):
    """Backtest of the RSJ strategy over every stored holding day: long Q1 - short Q5, EW and VW, gross
    and net, plus each quintile (long format: portfolio, weighting, returns, stat, value).

    Statistics (`reporting.backtest.backtest_report`, 365 days a year): mean with Newey-West t,
    annualised return, CAGR, vol, Sharpe, Sortino, max drawdown, win rate, beta and alpha against the
    market factor with NW t-stats (factor_returns_daily.mkt when built, else the EW mean daily_panel
    return, recorded in `market_source`), average coins per leg. Metadata: the LS table and equity curves.
    """
    lag_rule = _lag_rule(config.nw_lags)
    with connect(duckdb) as con:
        ensure_table(con, RSJ_PORTFOLIOS_DAILY)
        ports = _read(con, f"SELECT * FROM {quote_ident(RSJ_PORTFOLIOS_DAILY)} ORDER BY date, weighting, portfolio", [],
                      ("date", "date_formed"))
        dates = pd.DatetimeIndex(ports["date"].unique())
        market, market_source, market_note = market_returns(con, dates)
        reports = compute_rsj_backtest(ports, market, lag_rule, config.min_days)
        if not reports:
            replace_table(con, RSJ_BACKTEST, f"INSERT INTO {quote_ident(RSJ_BACKTEST)} SELECT * FROM {quote_ident(RSJ_BACKTEST)} WHERE false")
            results = checks.backtest_results(con)
            yield dg.MaterializeResult(metadata={
                "dagster/row_count": 0,
                "note": f"needs >= {config.min_days} held days in rsj_portfolios_daily; it holds {len(dates)}: "
                        "empty table"})
            yield from results
            return
        frame = backtest_long_frame(reports)
        mixed = []
        for column in ("top_n", "trailing_days", "n_quantiles", "fee_bps", "min_share"):
            value, varies = _single(ports, column)
            frame[column] = value
            if varies:
                mixed.append(column)
        frame = frame.assign(market_source=market_source, nw_lag_rule=str(config.nw_lags))
        result = replace_frame(con, RSJ_BACKTEST, frame)
        results = checks.backtest_results(con)
    ls_reports = {f"{w.upper()} {kind}": reports[("LS", w, kind)] for w in ("ew", "vw") for kind in ("gross", "net")
                  if ("LS", w, kind) in reports}
    ls = ports.loc[ports["portfolio"] == "LS"]
    curves = ls.pivot(index="date", columns="weighting", values="net").add_suffix(" net")
    curves = curves.join(ls.pivot(index="date", columns="weighting", values="gross").add_suffix(" gross"))
    quint = (ports.loc[ports["portfolio"] != "LS"].pivot_table(index="portfolio", columns="weighting",
                                                              values="net", aggfunc="mean") * 1e4)
    meta = {
        "dagster/row_count": result.inserted,
        "market": market_note,
        "parameters": md(f"nw_lags={config.nw_lags}; portfolios: "
                         + ", ".join(f"{c}={frame[c].iloc[0]}" for c in
                                     ("top_n", "trailing_days", "n_quantiles", "fee_bps", "min_share"))
                         + (f" (VARY over the stored days: {mixed}; latest shown)" if mixed else "")),
        "vw_fallback_days": int(((ls["weighting"] == "vw") & (ls["weight_source"] == "dollar_volume")).sum()),
    }
    if ls_reports:
        meta["long_short_table"] = md(backtest_markdown(ls_reports))
    if len(curves) >= 2:
        meta["equity_curve"] = md(png_markdown(equity_curve_png(
            curves[sorted(curves.columns)], "RSJ long Q1 (low RSJ) - short Q5 (high RSJ)"), alt="RSJ equity curve"))
    if len(quint):
        meta["mean_net_by_quantile_bp"] = md(png_markdown(bar_plot_png(
            quint, "Mean daily net return by RSJ quantile", "bp per day"), alt="quantile means"))
    yield dg.MaterializeResult(metadata=meta)
    yield from results
