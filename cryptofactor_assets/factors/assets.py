"""Cross-sectional factor research (issue 4): LTW characteristics, sorts, factors, rolling betas,
Fama-MacBeth, long-short alphas, regime signals and the LTW-calendar replication.

Every asset reads its inputs (with the look-back it needs) from DuckDB, calls the pure numerics of
``cryptofactor_assets.factors`` and writes its whole partition window in one transaction.
Estimator parameters are stored as columns and shown in the metadata.
"""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd
from dagster_duckdb import DuckDBResource

from cryptofactor_assets.common import (
    POOL,
    SINGLE_RUN,
    connect,
    lean_metadata,
    md,
    mondays,
    risk_free_series,
    window_dates,
)
from cryptofactor_assets.estimators import panels
from cryptofactor_assets.estimators.fama_macbeth import shanken_adjust_fm_cov
from cryptofactor_assets.estimators.ltw_calendar import aggregate_weekly
from cryptofactor_assets.estimators.rolling_ols import rolling_ols
from cryptofactor_assets.factors import checks, research
from cryptofactor_assets.factors.characteristics import LTW_CHARACTERISTICS, weekly_characteristics
from cryptofactor_assets.factors.construction import factor_returns, momentum_signal
from cryptofactor_assets.factors.sorts import characteristic_portfolios as sort_portfolios
from cryptofactor_assets.panels.assets import DAILY_PANEL, WEEKLY_PANEL
from cryptofactor_assets.partitions import previous_weeks, week_and_previous_days, weekly_partitions
from cryptofactor_assets.reporting.plots import equity_curve_png, png_markdown
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.identifiers import quote_ident
from cryptofactor_assets.storage.warehouse import frame_markdown, load_sql, replace_frame, replace_table

WEEKLY_CHARACTERISTICS = "weekly_characteristics"
CHARACTERISTIC_PORTFOLIOS = "characteristic_portfolios"
FACTOR_RETURNS_WEEKLY = "factor_returns_weekly"
FACTOR_RETURNS_DAILY = "factor_returns_daily"
ROLLING_BETAS = "rolling_betas"
FAMA_MACBETH_GAMMAS = "fama_macbeth_gammas"
FAMA_MACBETH_PREMIA = "fama_macbeth_premia"
LONG_SHORT_ALPHAS = "long_short_alphas"
REGIME_SIGNALS = "regime_signals"
LTW_REPLICATION = "ltw_replication"
GROUP = "factors"
KINDS = {"duckdb", "python"}

#: Daily look-back of the daily factors: formation day d-1 needs the returns of d-21..d-1.
DAILY_FACTOR_LOOKBACK_DAYS = 22
#: Daily look-back declared for the rolling betas (default window 90 = the day itself + 89 before).
ROLLING_LOOKBACK_DAYS = 89
# factor_returns_daily and rolling_betas are WEEKLY partitions (ISO weeks) holding one row per day /
# coin-day of their 7 days: their daily look-backs are declared as whole weeks before the partition's
# Monday (`week_and_previous_days`: 22 days -> 4 weeks, 89 days -> 13 weeks).
FACTOR_NAMES = ("mkt", "size", "mom")
BETA_NAMES = ("beta_mkt", "beta_size", "beta_mom")
WEEKLY_FACTORS = ("cmkt", "csmb", "cmom")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _ts(d) -> pd.Timestamp:
    return pd.Timestamp(d)


def _replace_all(con, table: str, frame: pd.DataFrame):
    """Replace an unpartitioned table; an empty result (too short a history) empties it."""
    if frame.empty:
        return replace_table(con, table, f"INSERT INTO {quote_ident(table)} SELECT * FROM {quote_ident(table)} WHERE false")
    return replace_frame(con, table, frame)


def _write_window(con, table: checks.TableChecks, frame: pd.DataFrame, start, end
                  ) -> tuple[dict, list[dg.AssetCheckResult]]:
    """Replace the partition window of ``table`` with ``frame`` and check it: (write metadata, check results)."""
    result = replace_frame(con, table.table, frame, table.window_column, start, end)
    return {"dagster/row_count": result.inserted, "rows_replaced": result.deleted}, table.results(con, start, end)


def _write_all(con, table: checks.TableChecks, frame: pd.DataFrame) -> tuple[dict, list[dg.AssetCheckResult]]:
    """Replace the whole (unpartitioned) ``table`` with ``frame`` and check it: (write metadata, check results)."""
    result = _replace_all(con, table.table, frame)
    return {"dagster/row_count": result.inserted}, table.results(con)


def _empty_note(written: dict, reason) -> dict:
    """``{"note": ...}`` when nothing was written (too short a history or too few coins), else ``{}``.
    ``reason`` is a string or a callable giving one (evaluated only for an empty write)."""
    if written.get("dagster/row_count"):
        return {}
    return {"note": f"{reason() if callable(reason) else reason}: empty result"}


def _eligible_count(frame: pd.DataFrame, period_col: str, lo, hi) -> tuple[int, int]:
    """(eligible rows, periods with an eligible row) of ``frame`` with ``lo <= period_col < hi``."""
    if frame.empty:
        return 0, 0
    p = pd.to_datetime(frame[period_col])
    sel = frame.loc[(p >= _ts(lo)) & (p < _ts(hi)) & frame["in_universe"].fillna(False).astype(bool)]
    return len(sel), int(sel[period_col].nunique())


def _formation_lacks(frame: pd.DataFrame, period_col: str, lo, hi, unit: str) -> str:
    n, periods = _eligible_count(frame, period_col, lo, hi)
    if unit == "week":
        rule = ("eligible: market cap >= $1M with all 7 days of returns, so not the first stored week")
    else:
        rule = ("eligible: market cap >= $1M with a return, so not the first stored day")
    return (f"needs eligible coins in the formation {unit} before each holding {unit} ({rule}); the "
            f"formation {unit}s {lo} .. {hi} (exclusive) hold {n} eligible coin-{unit}s in {periods} {unit}s")


def _lag_rule(value: str):
    """'4t100' / 't14' / 'nw1994', or an integer given as text."""
    return int(value) if value.strip().isdigit() else value.strip()


def _cumulative_plot(frame: pd.DataFrame, title: str) -> dg.MetadataValue:
    return md(png_markdown(equity_curve_png(frame, title=title), alt=title))


def _window_summary(frame: pd.DataFrame, columns, periods_per_year: float = 52) -> pd.DataFrame:
    """Mean, SD (both in %), plain t and number of periods of each column."""
    rows = []
    for c in [c for c in columns if c in frame.columns]:
        x = frame[c].dropna().to_numpy(dtype=float)
        n = len(x)
        sd = float(x.std(ddof=1)) if n > 1 else np.nan
        rows.append({"series": c, "n": n, "mean_pct": 100 * x.mean() if n else np.nan, "sd_pct": 100 * sd,
                     "t": x.mean() / (sd / np.sqrt(n)) if n > 1 and sd > 0 else np.nan,
                     "ann_mean_pct": 100 * periods_per_year * x.mean() if n else np.nan})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# 1. Weekly characteristics
# --------------------------------------------------------------------------------------------
class CharacteristicsConfig(dg.Config):
    winsorize: bool = True
    winsor_lower: float = 0.01
    winsor_upper: float = 0.99
    winsorize_on: str = "eligible"  # eligible | all
    vol_column: str = "avg_volume"  # avg_volume (base units) | avg_dollar_volume (USD, as CMC/CoinGecko)


@dg.asset(
    name=WEEKLY_CHARACTERISTICS,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[dg.AssetDep(WEEKLY_PANEL, partition_mapping=previous_weeks(4))],
    check_specs=checks.WEEKLY_CHARACTERISTICS.specs(),
)
def weekly_characteristics_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                                 config: CharacteristicsConfig):
    """LTW (2022, Table II) characteristics per coin and ISO week, from `weekly_panel` weeks t-4..t only.

    MCAP = log last-day market cap, PRC = log last-day close, MAXDPRC = max daily close, r1,0..r4,0 =
    past 1..4-week cumulative returns, r4,1 = weeks t-3..t-1, VOL = log mean daily volume, PRCVOL = log
    mean dollar volume, STDPRCVOL = log std of dollar volume, AGE in weeks; non-return variables
    winsorised at 1/99 % each week over the eligible coins (configurable). Raw `market_cap` (weights),
    the week's `ret` and `in_universe` are kept for the sorts. Numerics:
    `factors.characteristics.weekly_characteristics`.
    """
    start, end = window_dates(context)
    winsor = (config.winsor_lower, config.winsor_upper) if config.winsorize else None
    with connect(duckdb) as con:
        panel = read_sql_frame(con, load_sql("select_weekly_panel_window"),
                               {"start": start - dt.timedelta(weeks=4), "end": end}, ["week_start"])
        chars = weekly_characteristics(panel, winsor, calendar="iso", winsorize_on=config.winsorize_on,
                                       vol_column=config.vol_column)
        chars = chars.loc[(chars["week_start"] >= _ts(start)) & (chars["week_start"] < _ts(end))]
        chars = chars.assign(winsorize_on=config.winsorize_on, vol_column=config.vol_column)
        written, results = _write_window(con, checks.WEEKLY_CHARACTERISTICS, chars, start, end)
    summary = chars.loc[chars["in_universe"], list(LTW_CHARACTERISTICS)].describe().T.reset_index()
    yield dg.MaterializeResult(metadata=lean_metadata(context, {
        **written,
        **_empty_note(written, f"needs weekly_panel rows in the window; weekly_panel holds {len(panel)} "
                               f"coin-weeks in {start - dt.timedelta(weeks=4)} .. {end} (exclusive)"),
        "eligible_coin_weeks": int(chars["in_universe"].sum()),
        "parameters": md(f"winsor={winsor}, winsorize_on={config.winsorize_on}, vol_column={config.vol_column}, "
                         "calendar=iso"),
        "eligible_summary": md(frame_markdown(summary[["index", "count", "mean", "std", "min", "max"]])),
    }))
    yield from results


# --------------------------------------------------------------------------------------------
# 2. Characteristic portfolios
# --------------------------------------------------------------------------------------------
class PortfolioConfig(dg.Config):
    n_quantiles: int = 5
    breakpoint_universe: str = "all"  # all (LTW) | investable
    investable_top_n: int = 100
    min_coins: int = 1


def compute_characteristic_portfolios(chars: pd.DataFrame, start, end, n_quantiles: int = 5,
                                      breakpoint_universe: str = "all", investable_top_n: int = 100,
                                      min_coins: int = 1) -> pd.DataFrame:
    """Quantile portfolios held over the weeks in [start, end) from characteristics of weeks >= start - 7."""
    ports = sort_portfolios(chars, None, n_quantiles, breakpoint_universe, calendar="iso",
                            investable_top_n=investable_top_n, min_coins=min_coins)
    ports = ports.rename(columns={"period": "formation_week", "hold_period": "week_start"})
    ports["portfolio"] = ports["portfolio"].where(ports["quantile"].notna(), "LS")
    ports = ports.loc[(ports["week_start"] >= _ts(start)) & (ports["week_start"] < _ts(end))]
    return ports.assign(investable_top_n=investable_top_n, min_coins=min_coins).reset_index(drop=True)


@dg.asset(
    name=CHARACTERISTIC_PORTFOLIOS,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[dg.AssetDep(WEEKLY_CHARACTERISTICS, partition_mapping=previous_weeks(1))],
    check_specs=checks.CHARACTERISTIC_PORTFOLIOS.specs(),
)
def characteristic_portfolios_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                                    config: PortfolioConfig):
    """Quintile portfolios on each LTW characteristic of week w-1, held over week w (the partition).

    Breakpoints: quantiles (linear interpolation) of the characteristic over the eligible coins of
    week w-1 ("all", LTW) or the investable top-N; equal- and value-weighted (market cap at w-1)
    returns over week w; `LS` = Q5 - Q1. LTW (2022) Tables III-IV. Numerics:
    `factors.sorts.characteristic_portfolios`.
    """
    start, end = window_dates(context)
    with connect(duckdb) as con:
        chars = read_sql_frame(con, load_sql("select_weekly_characteristics_window"),
                               {"start": start - dt.timedelta(weeks=1), "end": end}, ["week_start"])
        ports = compute_characteristic_portfolios(chars, start, end, config.n_quantiles,
                                                  config.breakpoint_universe, config.investable_top_n,
                                                  config.min_coins)
        written, results = _write_window(con, checks.CHARACTERISTIC_PORTFOLIOS, ports, start, end)
    ls = ports.loc[ports["portfolio"] == "LS"]
    note = _empty_note(written, lambda: _formation_lacks(chars, "week_start", start - dt.timedelta(weeks=1),
                                                         end - dt.timedelta(weeks=1), "week"))
    wide = ls.pivot_table(index="week_start", columns="characteristic", values="vw_ret", dropna=False)
    table = _window_summary(wide, sorted(ls["characteristic"].unique())) if len(ls) else pd.DataFrame()
    yield dg.MaterializeResult(metadata=lean_metadata(context, {
        **written,
        **note,
        "parameters": md(f"n_quantiles={config.n_quantiles}, breakpoint_universe={config.breakpoint_universe}, "
                         f"investable_top_n={config.investable_top_n}, min_coins={config.min_coins}"),
        "vw_long_short_in_window": md(frame_markdown(table)),
    }))
    yield from results


# --------------------------------------------------------------------------------------------
# 3. Weekly factors
# --------------------------------------------------------------------------------------------
class FactorConfig(dg.Config):
    constructions: list[str] = ["double_sort", "single_sort"]
    breakpoint_universe: str = "all"
    investable_top_n: int = 100
    min_coins_per_leg: int = 1


def compute_weekly_factors(chars: pd.DataFrame, start, end, constructions=("double_sort", "single_sort"),
                           breakpoint_universe: str = "all", investable_top_n: int = 100,
                           min_coins_per_leg: int = 1, rf=0.0, rf_source: str = "default") -> pd.DataFrame:
    """CMKT / CSMB / CMOM held over the weeks in [start, end), one row per CMOM construction."""
    frames = []
    for construction in constructions:
        f = factor_returns(chars, period_col="week_start", calendar="iso", momentum_col="r3_0",
                           cmom_construction=construction, breakpoint_universe=breakpoint_universe,
                           investable_top_n=investable_top_n, rf=rf, min_coins_per_leg=min_coins_per_leg)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True).rename(columns={"period": "week_start",
                                                              "formation_period": "formation_week"})
    out = out.loc[(out["week_start"] >= _ts(start)) & (out["week_start"] < _ts(end))]
    return out.assign(investable_top_n=investable_top_n, rf_source=rf_source).reset_index(drop=True)


@dg.asset(
    name=FACTOR_RETURNS_WEEKLY,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[dg.AssetDep(WEEKLY_CHARACTERISTICS, partition_mapping=previous_weeks(1))],
    check_specs=checks.FACTOR_RETURNS_WEEKLY.specs(),
)
def factor_returns_weekly_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: FactorConfig):
    """LTW (2022, Section III) weekly factors per holding week w, portfolios formed at the end of w-1.

    CMKT = value-weighted return of the eligible coins (weights: market cap at w-1) minus the risk-free
    rate; CSMB = VW(bottom 30 % market cap) - VW(top 30 %); CMOM on r3,0: `double_sort` = JF 2x3 size x
    momentum, (SW + BW)/2 - (SL + BL)/2, `single_sort` = WP 30/40/30 winners - losers (both stored,
    `construction` column). Risk-free: `sources.risk_free` (env CRYPTOFACTOR_RISK_FREE_CSV / _PCT),
    else 0 (see `rf_source`). Numerics: `factors.construction.factor_returns`.
    """
    start, end = window_dates(context)
    rf, rf_source, rf_note = risk_free_series(mondays(start, end), "weekly")
    with connect(duckdb) as con:
        chars = read_sql_frame(con, load_sql("select_weekly_characteristics_window"),
                               {"start": start - dt.timedelta(weeks=1), "end": end}, ["week_start"])
        out = compute_weekly_factors(chars, start, end, config.constructions, config.breakpoint_universe,
                                     config.investable_top_n, config.min_coins_per_leg, rf, rf_source)
        written, results = _write_window(con, checks.FACTOR_RETURNS_WEEKLY, out, start, end)
        history = con.execute("SELECT week_start, construction, cmkt, csmb, cmom FROM factor_returns_weekly "
                              "WHERE week_start < ? ORDER BY week_start", [end]).df()
    meta = {
        **written,
        **_empty_note(written, lambda: _formation_lacks(chars, "week_start", start - dt.timedelta(weeks=1),
                                                        end - dt.timedelta(weeks=1), "week")),
        "risk_free": rf_note,
        "parameters": md(f"constructions={list(config.constructions)}, breakpoint_universe="
                         f"{config.breakpoint_universe}, investable_top_n={config.investable_top_n}, "
                         f"min_coins_per_leg={config.min_coins_per_leg}, calendar=iso"),
    }
    for construction in config.constructions:
        h = history.loc[history["construction"] == construction].set_index("week_start")[list(WEEKLY_FACTORS)]
        if len(h) >= 2:
            h.index = pd.to_datetime(h.index)
            meta[f"summary_{construction}"] = md(frame_markdown(_window_summary(h, WEEKLY_FACTORS)))
            meta[f"cumulative_{construction}"] = _cumulative_plot(
                h, f"Cumulative weekly factor returns ({construction})")
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


# --------------------------------------------------------------------------------------------
# 4. Daily factors
# --------------------------------------------------------------------------------------------
class DailyFactorConfig(dg.Config):
    construction: str = "double_sort"
    breakpoint_universe: str = "all"
    investable_top_n: int = 100
    momentum_lookback: int = 21
    min_coins_per_leg: int = 1


def compute_daily_factors(daily: pd.DataFrame, start, end, construction: str = "double_sort",
                          breakpoint_universe: str = "all", investable_top_n: int = 100,
                          momentum_lookback: int = 21, min_coins_per_leg: int = 1, rf=0.0,
                          rf_source: str = "default") -> pd.DataFrame:
    """Daily MKT / SIZE / MOM held over the days in [start, end) (daily_panel rows from start - lookback - 1)."""
    panel = daily.copy()
    panel["mom"] = momentum_signal(panel, momentum_lookback, period_col="date", calendar="daily")
    f = factor_returns(panel, period_col="date", calendar="daily", momentum_col="mom",
                       cmom_construction=construction, breakpoint_universe=breakpoint_universe,
                       investable_top_n=investable_top_n, rf=rf, min_coins_per_leg=min_coins_per_leg)
    f = f.rename(columns={"period": "date", "formation_period": "formation_date", "cmkt": "mkt",
                          "csmb": "size", "cmom": "mom"}).drop(columns=["calendar"])
    f = f.loc[(f["date"] >= _ts(start)) & (f["date"] < _ts(end))]
    return f.assign(investable_top_n=investable_top_n, momentum_lookback=momentum_lookback,
                    rf_source=rf_source).reset_index(drop=True)


@dg.asset(
    name=FACTOR_RETURNS_DAILY,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[dg.AssetDep(DAILY_PANEL, partition_mapping=week_and_previous_days(DAILY_FACTOR_LOOKBACK_DAYS))],
    check_specs=checks.FACTOR_RETURNS_DAILY.specs(),
)
def factor_returns_daily_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                               config: DailyFactorConfig):
    """Daily MKT, SIZE, MOM per holding day d, built like LTW's weekly factors at daily frequency.

    Portfolios formed on day d-1 (eligible coins, market-cap weights at d-1), returns over day d.
    MKT = VW universe return - rf; SIZE = VW(bottom 30 % cap) - VW(top 30 %); MOM on the past
    `momentum_lookback` (21) daily returns up to d-1 (`factors.construction.momentum_signal`),
    `construction` as CMOM. Feed of the rolling betas. Partitioned by ISO week: a partition holds
    the 7 daily rows of its week (reading daily_panel from 22 days before its Monday).
    """
    start, end = window_dates(context)
    rf, rf_source, rf_note = risk_free_series(pd.date_range(_ts(start), _ts(end) - pd.Timedelta(days=1)), "daily")
    lookback = max(DAILY_FACTOR_LOOKBACK_DAYS, config.momentum_lookback + 1)
    with connect(duckdb) as con:
        daily = read_sql_frame(con, load_sql("select_daily_panel_window"),
                               {"start": start - dt.timedelta(days=lookback), "end": end}, ["date"])
        out = compute_daily_factors(daily, start, end, config.construction, config.breakpoint_universe,
                                    config.investable_top_n, config.momentum_lookback,
                                    config.min_coins_per_leg, rf, rf_source)
        written, results = _write_window(con, checks.FACTOR_RETURNS_DAILY, out, start, end)
    meta = {
        **written,
        **_empty_note(written, lambda: _formation_lacks(daily, "date", start - dt.timedelta(days=1),
                                                        end - dt.timedelta(days=1), "day")),
        "risk_free": rf_note,
        "parameters": md(f"construction={config.construction}, breakpoint_universe={config.breakpoint_universe}, "
                         f"momentum_lookback={config.momentum_lookback}"),
    }
    if len(out) >= 2:
        meta["summary"] = md(frame_markdown(_window_summary(out.set_index("date"), FACTOR_NAMES, 365)))
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


# --------------------------------------------------------------------------------------------
# 5. Rolling betas
# --------------------------------------------------------------------------------------------
class RollingBetasConfig(dg.Config):
    window: int = 90
    min_obs: int = 60


def compute_rolling_betas(daily: pd.DataFrame, factors: pd.DataFrame, start, end, window: int = 90,
                          min_obs: int = 60) -> pd.DataFrame:
    """Rolling OLS of daily excess returns on MKT, SIZE, MOM for the coin-days in [start, end).

    ``daily`` / ``factors`` cover [start - (window - 1), end).  The panel is laid on the COMPLETE
    calendar of that range (missing days = NaN rows), so a window is always ``window`` calendar days
    and gaps / late listings are handled by the mask of ``rolling_ols``.  A coin-day is stored when
    the coin has a daily_panel row that day and the window has an estimate.
    """
    lo = _ts(start) - pd.Timedelta(days=window - 1)
    days = panels.day_range(lo, end)
    ret = panels.pivot_panel(daily, "ret", index=days)
    symbols = list(ret.columns)
    present = panels.pivot_panel(daily.assign(_one=1.0), "_one", index=days, symbols=symbols).notna().to_numpy()
    f = factors.set_index("date").reindex(days)
    x = f[list(FACTOR_NAMES)].to_numpy(dtype=float)
    y = ret.to_numpy() - f["rf"].to_numpy(dtype=float)[:, None]
    res = rolling_ols(y, x, window=window, min_obs=min_obs, compute_bse=True)
    arrays = {"alpha": res.params[..., 0], "alpha_se": res.bse[..., 0], "r2": res.r2,
              "resid_vol": res.resid_vol, "n_obs": res.n_obs}
    for i, name in enumerate(BETA_NAMES):
        arrays[name] = res.params[..., 1 + i]
        arrays[f"{name}_se"] = res.bse[..., 1 + i]
    arrays["_present"] = present
    out = panels.stack_panel(arrays, days, symbols)
    keep = (out["date"] >= _ts(start)) & out["_present"] & np.isfinite(out["beta_mkt"].to_numpy())
    out = out.loc[keep].drop(columns=["_present"]).reset_index(drop=True)
    out["n_obs"] = out["n_obs"].astype(np.int64)
    return out.assign(window_days=window, min_obs=res.min_obs)


def _max_daily_obs(daily: pd.DataFrame, factors: pd.DataFrame, window: int) -> int:
    """Most usable days of any coin in any ``window``-day window: a return on a day whose MKT, SIZE and
    MOM are all defined (what a rolling beta's ``min_obs`` is compared with)."""
    if daily.empty or factors.empty:
        return 0
    ok = set(factors.dropna(subset=list(FACTOR_NAMES))["date"])
    d = daily.loc[daily["ret"].notna() & daily["date"].isin(ok)]
    if d.empty:
        return 0
    days = panels.day_range(daily["date"].min(), daily["date"].max() + pd.Timedelta(days=1))
    usable = panels.pivot_panel(d.assign(_one=1.0), "_one", index=days).fillna(0.0)
    return int(usable.rolling(window, min_periods=1).sum().to_numpy().max())


@dg.asset(
    name=ROLLING_BETAS,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[
        dg.AssetDep(DAILY_PANEL, partition_mapping=week_and_previous_days(ROLLING_LOOKBACK_DAYS)),
        dg.AssetDep(FACTOR_RETURNS_DAILY, partition_mapping=week_and_previous_days(ROLLING_LOOKBACK_DAYS)),
    ],
    check_specs=[*checks.ROLLING_BETAS.specs(), checks.rolling_betas_r2_spec()],
)
def rolling_betas_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: RollingBetasConfig):
    """Per coin-day rolling OLS of daily excess returns on the daily MKT, SIZE, MOM factors.

    Window (t - window, t] in calendar days (default 90), at least `min_obs` (60) usable days; gaps
    and late listings are masked, never bridged by shrinking the window; data up to day t only.
    Columns: alpha, betas, their classic OLS standard errors, centred R², residual vol, n_obs.
    Vectorised across all coins (`estimators.rolling_ols.rolling_ols`, equal to statsmodels
    RollingOLS(missing="drop")). Only coin-days with an estimate (and a panel row) are stored.
    Partitioned by ISO week: a partition holds the coin-days of its 7 days (reading `window` - 1 days
    of returns and daily factors before its Monday).
    """
    start, end = window_dates(context)
    lo = start - dt.timedelta(days=config.window - 1)
    with connect(duckdb) as con:
        daily = read_sql_frame(con, load_sql("select_daily_panel_window"), {"start": lo, "end": end}, ["date"])
        factors = read_sql_frame(con, load_sql("select_factor_returns_daily_window"),
                                 {"start": lo, "end": end}, ["date"])
        constructions = sorted(set(factors["construction"]))
        out = compute_rolling_betas(daily, factors, start, end, config.window, config.min_obs)
        out["construction"] = ",".join(constructions) or "none"
        written, results = _write_window(con, checks.ROLLING_BETAS, out, start, end)
        results.append(checks.rolling_betas_r2_result(con, start, end))
    by_coin = (out.groupby("symbol")[["beta_mkt", "beta_size", "beta_mom", "r2"]].mean().reset_index()
               if len(out) else pd.DataFrame())
    yield dg.MaterializeResult(metadata=lean_metadata(context, {
        **written,
        **_empty_note(written, lambda: (
            f"needs >= {config.min_obs} daily observations per coin (returns on days with MKT, SIZE and MOM, "
            f"MOM needing {DailyFactorConfig().momentum_lookback} days of history) in the {config.window}-day "
            f"window; the most any coin has in a window is {_max_daily_obs(daily, factors, config.window)} "
            f"(days with all three factors read: {len(factors.dropna(subset=list(FACTOR_NAMES))) if len(factors) else 0}"
            f" of {len(factors)}; MOM is undefined on days with an empty size x momentum leg)")),
        "parameters": md(f"window={config.window} days, min_obs={config.min_obs}, factors={list(FACTOR_NAMES)}, "
                         f"daily factor construction={constructions}"),
        "mean_by_coin": md(frame_markdown(by_coin)),
    }))
    yield from results


# --------------------------------------------------------------------------------------------
# 6. Fama-MacBeth
# --------------------------------------------------------------------------------------------
class FamaMacBethConfig(dg.Config):
    characteristics: list[str] = ["mcap", "r3_0"]
    standardise_characteristics: bool = True
    min_coins: int = 0  # 0: number of coefficients + 1


def fm_inputs(chars: pd.DataFrame, betas: pd.DataFrame, weeks: pd.DatetimeIndex, characteristics,
              rf=0.0) -> tuple[np.ndarray, dict[str, np.ndarray], list[str]]:
    """y (T, N) weekly excess returns of the holding weeks ``weeks`` for coins eligible at w-1, and
    the regressors: betas as of day w-1 and characteristics of week w-1 (unstandardised)."""
    formation = weeks - pd.Timedelta(weeks=1)
    symbols = sorted(set(chars["symbol"]) | set(betas["symbol"]))
    ret = panels.pivot_panel(chars, "ret", index_col="week_start", index=weeks, symbols=symbols).to_numpy()
    elig = panels.pivot_panel(chars.assign(_e=chars["in_universe"].astype(float)), "_e", index_col="week_start",
                              index=formation, symbols=symbols).to_numpy() == 1.0
    rf_arr = (rf.reindex(weeks).to_numpy(dtype=float) if isinstance(rf, pd.Series)
              else np.full(len(weeks), float(rf)))
    y = np.where(elig, ret - rf_arr[:, None], np.nan)
    x_char = np.stack([panels.pivot_panel(chars, c, index_col="week_start", index=formation, symbols=symbols)
                          .to_numpy() for c in characteristics], axis=-1)
    beta_days = weeks - pd.Timedelta(days=1)
    x_beta = np.stack([panels.pivot_panel(betas, b, index=beta_days, symbols=symbols).to_numpy()
                          for b in BETA_NAMES], axis=-1) if len(betas) else np.full((len(weeks), len(symbols), 3), np.nan)
    return y, {"betas": x_beta, "characteristics": x_char}, symbols


def compute_fm_gammas(chars: pd.DataFrame, betas: pd.DataFrame, weeks: pd.DatetimeIndex,
                      characteristics=("mcap", "r3_0"), standardise: bool = True, min_coins: int = 0,
                      rf=0.0) -> pd.DataFrame:
    """Long frame of per-week gammas for the specs 'betas' and 'characteristics' (weeks with an estimate)."""
    characteristics = list(characteristics)
    y, xs, _ = fm_inputs(chars, betas, weeks, characteristics, rf)
    names = {"betas": list(BETA_NAMES), "characteristics": characteristics}
    frames = []
    for spec, x in xs.items():
        k = x.shape[2]
        mc = min_coins if min_coins > 0 else k + 2
        std = spec == "characteristics" and standardise
        if std:
            mask = np.isfinite(y) & np.all(np.isfinite(x), axis=2)
            x = panels.standardise_cross_section(x, mask)
        cs = research.fm_cross_sections(y, x, min_coins=mc)
        used = np.flatnonzero(cs["used"])
        coefs = ["const", *names[spec]]
        for j, coef in enumerate(coefs):
            frames.append(pd.DataFrame({
                "week_start": weeks[used], "formation_week": weeks[used] - pd.Timedelta(weeks=1),
                "spec": spec, "coefficient": coef, "gamma": cs["gammas"][used, j], "cs_r2": cs["r2"][used],
                "n_coins": cs["n"][used].astype(np.int64), "regressors": ",".join(names[spec]),
                "standardised": std, "min_coins": mc,
            }))
    return pd.concat(frames, ignore_index=True)


@dg.asset(
    name=FAMA_MACBETH_GAMMAS,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[
        dg.AssetDep(WEEKLY_CHARACTERISTICS, partition_mapping=previous_weeks(1)),
        dg.AssetDep(ROLLING_BETAS, partition_mapping=previous_weeks(1)),
    ],
    check_specs=checks.FAMA_MACBETH_GAMMAS.specs(),
)
def fama_macbeth_gammas_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                              config: FamaMacBethConfig):
    """Fama-MacBeth (1973) first step: for each week w, OLS across coins of the week-w excess return on
    a constant and (a) rolling betas as of the last day of week w-1 (spec `betas`: beta_mkt,
    beta_size, beta_mom) or (b) LTW characteristics of week w-1 (spec `characteristics`,
    z-scored across coins each week). Coins eligible at w-1 with all regressors. One row per week,
    spec and coefficient (gamma), with the cross-sectional R² and the number of coins. Nothing
    after week w is used.
    """
    start, end = window_dates(context)
    weeks = mondays(start, end)
    rf, _, _ = risk_free_series(weeks, "weekly")
    with connect(duckdb) as con:
        chars = read_sql_frame(con, load_sql("select_weekly_characteristics_window"),
                               {"start": start - dt.timedelta(weeks=1), "end": end}, ["week_start"])
        beta_days = [d.date() for d in weeks - pd.Timedelta(days=1)]
        betas = read_sql_frame(con, load_sql("select_rolling_betas_on_dates"), {"dates": beta_days}, ["date"])
        out = compute_fm_gammas(chars, betas, weeks, config.characteristics, config.standardise_characteristics,
                                config.min_coins, rf)
        written, results = _write_window(con, checks.FAMA_MACBETH_GAMMAS, out, start, end)
    per_spec = (out.groupby(["spec", "coefficient"])["gamma"].agg(["count", "mean", "std"]).reset_index()
                if len(out) else pd.DataFrame())
    yield dg.MaterializeResult(metadata=lean_metadata(context, {
        **written,
        **_empty_note(written, lambda: (
            f"needs, in some week w, at least min_coins ({config.min_coins or 'K + 2'}) coins eligible at w-1 "
            f"with a week-w return and the regressors (rolling betas as of the day before w, or "
            f"{', '.join(config.characteristics)} of w-1); the formation weeks hold "
            f"{_eligible_count(chars, 'week_start', start - dt.timedelta(weeks=1), end - dt.timedelta(weeks=1))[0]}"
            f" eligible coin-weeks and {len(betas)} rolling betas on the formation days")),
        "parameters": md(f"characteristics={list(config.characteristics)}, standardised="
                         f"{config.standardise_characteristics}, min_coins={config.min_coins or 'K + 2'}"),
        "gammas_in_window": md(frame_markdown(per_spec)),
    }))
    yield from results


class PremiaConfig(dg.Config):
    lag_rule: str = "4t100"  # 4t100 | t14 | nw1994 | an integer
    periods_per_year: float = 52.0
    factor_construction: str = "double_sort"  # weekly factors whose covariance enters Shanken


#: Fewest weeks of gammas for a premium (mean, t and Newey-West t need a few periods).
FM_MIN_PERIODS = 4


def compute_fm_premia(gammas: pd.DataFrame, weekly_factors: pd.DataFrame | None, lag_rule="4t100",
                      periods_per_year: float = 52.0, min_periods: int = FM_MIN_PERIODS) -> pd.DataFrame:
    """Per spec and coefficient: FM mean, std, t, NW t (lag stored), annualised premium; Shanken (1992)
    t for the `betas` spec with the covariance of the weekly CMKT, CSMB, CMOM over the same weeks."""
    rows = []
    for spec, g in gammas.groupby("spec", sort=True):
        coefs = ["const", *g["regressors"].iloc[0].split(",")]
        wide = g.pivot(index="week_start", columns="coefficient", values="gamma")[coefs].sort_index().dropna()
        if len(wide) < min_periods:
            continue
        s = research.summarise_gammas(wide.to_numpy(), lag_rule)
        t_len = int(s["n_periods"])
        sh_se = np.full(len(coefs), np.nan)
        sh_c = np.nan
        if spec == "betas" and weekly_factors is not None:
            f = weekly_factors.reindex(wide.index)[list(WEEKLY_FACTORS)].dropna()
            if len(f) > len(WEEKLY_FACTORS) + 1:
                sh = shanken_adjust_fm_cov(s["cov"], np.cov(f.to_numpy(), rowvar=False, ddof=1), s["mean"][1:],
                                           t_len)
                sh_se, sh_c = sh.se, sh.c
        r2 = g.drop_duplicates("week_start").set_index("week_start")["cs_r2"]
        for j, coef in enumerate(coefs):
            rows.append({
                "spec": spec, "coefficient": coef, "mean": s["mean"][j], "std": s["std"][j], "se": s["se"][j],
                "t": s["tstat"][j], "nw_se": s["nw_se"][j], "nw_t": s["nw_tstat"][j], "nw_lags": int(s["nw_lags"]),
                "lag_rule": str(s["lag_rule"]), "shanken_se": sh_se[j],
                "shanken_t": s["mean"][j] / sh_se[j] if np.isfinite(sh_se[j]) else np.nan, "shanken_c": sh_c,
                "n_periods": t_len, "annualised": periods_per_year * s["mean"][j],
                "periods_per_year": periods_per_year, "avg_cs_r2": float(r2.reindex(wide.index).mean()),
                "first_week": wide.index.min(), "last_week": wide.index.max(),
            })
    return pd.DataFrame(rows)


@dg.asset(
    name=FAMA_MACBETH_PREMIA,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[FAMA_MACBETH_GAMMAS, FACTOR_RETURNS_WEEKLY],
    check_specs=checks.FAMA_MACBETH_PREMIA.specs(),
)
def fama_macbeth_premia_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: PremiaConfig):
    """Fama-MacBeth premia over every stored week: mean gamma, std, t = mean / (std / sqrt(T)),
    Newey-West t (Bartlett, S / (T (T - 1)) as linearmodels FamaMacBeth kernel; lag rule configurable,
    lag used stored), Shanken (1992) t for the `betas` spec (variance of the FM mean adjusted by
    (1 + l' S_f^-1 l), S_f = covariance of the weekly CMKT, CSMB, CMOM), T and the annualised premium
    (52 x mean). Numerics: `estimators.fama_macbeth`.
    """
    lag_rule = _lag_rule(config.lag_rule)
    with connect(duckdb) as con:
        con.execute(load_sql("create_fama_macbeth_gammas"))
        gammas = read_sql_frame(con, "SELECT * FROM fama_macbeth_gammas ORDER BY week_start, spec",
                                date_columns=["week_start"])
        wf = research.read_weekly_factors(con, config.factor_construction)
        out = compute_fm_premia(gammas, wf if len(wf) else None, lag_rule, config.periods_per_year)
        written, results = _write_all(con, checks.FAMA_MACBETH_PREMIA, out)
    shown = (out[["spec", "coefficient", "mean", "t", "nw_t", "shanken_t", "nw_lags", "n_periods", "annualised"]]
             if len(out) else pd.DataFrame())
    weeks_by_spec = (gammas.groupby("spec")["week_start"].nunique().to_dict() if len(gammas) else {})
    yield dg.MaterializeResult(metadata={
        **written,
        **_empty_note(written, lambda: (
            f"needs >= {FM_MIN_PERIODS} weeks of Fama-MacBeth gammas per spec; fama_macbeth_gammas holds "
            + (", ".join(f"{k}: {v}" for k, v in sorted(weeks_by_spec.items())) or "none"))),
        "premia": md(frame_markdown(shown)),
        "parameters": md(f"lag_rule={config.lag_rule}, periods_per_year={config.periods_per_year}, "
                         f"Shanken factors: weekly {list(WEEKLY_FACTORS)} ({config.factor_construction})"),
    })
    yield from results


# --------------------------------------------------------------------------------------------
# 7. Long-short alphas
# --------------------------------------------------------------------------------------------
class LongShortConfig(dg.Config):
    lag_rule: str = "4t100"
    construction: str = "double_sort"
    min_weeks: int = 8


def compute_long_short_alphas(ls: pd.DataFrame, factors: pd.DataFrame, lag_rule="4t100",
                              construction: str = "double_sort", min_weeks: int = 8) -> pd.DataFrame:
    """One row per (characteristic, weighting) of the LS portfolios with :func:`long_short_statistics`."""
    rows = []
    fac = factors[list(WEEKLY_FACTORS)]
    for (char, universe), g in ls.groupby(["characteristic", "breakpoint_universe"], sort=True):
        g = g.set_index("week_start").sort_index()
        for weighting in ("ew", "vw"):
            r = g[f"{weighting}_ret"].dropna()
            if len(r) < min_weeks or len(r.index.intersection(fac.dropna().index)) < min_weeks:
                continue
            stats = research.long_short_statistics(r, fac, lag_rule=lag_rule)
            rows.append({"characteristic": char, "weighting": weighting, **stats, "construction": construction,
                         "breakpoint_universe": universe, "first_week": r.index.min(), "last_week": r.index.max()})
    return pd.DataFrame(rows)


@dg.asset(
    name=LONG_SHORT_ALPHAS,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[CHARACTERISTIC_PORTFOLIOS, FACTOR_RETURNS_WEEKLY],
    check_specs=checks.LONG_SHORT_ALPHAS.specs(),
)
def long_short_alphas_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: LongShortConfig):
    """LTW (2022) Table VIII style statistics of every Q5 - Q1 characteristic portfolio (EW and VW) over
    all stored weeks: mean with Newey-West t, CAPM alpha on CMKT and 3-factor alpha on CMKT, CSMB, CMOM
    (OLS with HAC t-stats, statsmodels cov_type="HAC" conventions; lag rule configurable and stored),
    annualised return / vol / Sharpe / max drawdown (`reporting.backtest.backtest_report`).
    """
    lag_rule = _lag_rule(config.lag_rule)
    with connect(duckdb) as con:
        con.execute(load_sql("create_characteristic_portfolios"))
        ls = read_sql_frame(con, "SELECT * FROM characteristic_portfolios WHERE portfolio = 'LS' "
                                 "ORDER BY week_start", date_columns=["week_start"])
        fac = research.read_weekly_factors(con, config.construction)
        out = compute_long_short_alphas(ls, fac, lag_rule, config.construction, config.min_weeks)
        written, results = _write_all(con, checks.LONG_SHORT_ALPHAS, out)
    if out.empty:  # too short a history: an empty table, said so in the metadata
        yield dg.MaterializeResult(metadata={"dagster/row_count": 0, "note": f"fewer than {config.min_weeks} weeks "
                                             "of long-short and factor returns stored"})
        yield from results
        return
    shown = out.assign(mean_pct=100 * out["mean"], capm_alpha_pct=100 * out["capm_alpha"],
                       f3_alpha_pct=100 * out["f3_alpha"])[
        ["characteristic", "weighting", "n_weeks", "mean_pct", "mean_t_nw", "capm_alpha_pct", "capm_alpha_t",
         "f3_alpha_pct", "f3_alpha_t", "sharpe"]]
    vw = ls.pivot_table(index="week_start", columns="characteristic", values="vw_ret", dropna=False)
    yield dg.MaterializeResult(metadata={
        **written,
        "long_short_table": md(frame_markdown(shown)),
        "parameters": md(f"lag_rule={config.lag_rule}, factors={list(WEEKLY_FACTORS)} ({config.construction}), "
                         f"min_weeks={config.min_weeks}"),
        "cumulative_vw_long_shorts": _cumulative_plot(vw, "Cumulative VW Q5 - Q1 returns"),
    })
    yield from results


# --------------------------------------------------------------------------------------------
# 8. Regime signals
# --------------------------------------------------------------------------------------------
class RegimeConfig(dg.Config):
    horizon_days: int = 90
    z_threshold: float = 3.0
    recent_days: int = 90


@dg.asset(
    name=REGIME_SIGNALS,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[ROLLING_BETAS],
    check_specs=checks.REGIME_SIGNALS.specs(),
)
def regime_signals_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: RegimeConfig):
    """Per coin, from all stored rolling betas: beta stability (CV = sd / |mean| of the rolling market
    beta), R² decay (mean R² of the last `recent_days` minus the long-run mean) and regime shifts:
    z_t = (b_t - b_{t-h}) / sqrt(se_t² + se_{t-h}²), h = `horizon_days` (>= the window: independent
    windows, a Chow-type test); |z| > `z_threshold` flags a shift, a run of flagged days is one event
    dated by its first day (`shift_dates`). Numerics: `factors.research.regime_signals`.
    """
    with connect(duckdb) as con:
        con.execute(load_sql("create_rolling_betas"))
        betas = read_sql_frame(con, "SELECT symbol, date, beta_mkt, beta_mkt_se, r2, window_days, min_obs "
                                    "FROM rolling_betas ORDER BY symbol, date", date_columns=["date"])
        out = research.regime_signals(betas, horizon=config.horizon_days, z_threshold=config.z_threshold,
                                      recent_days=config.recent_days)
        if len(out):
            out["window_days"] = int(betas["window_days"].mode().iloc[0])
            out["min_obs"] = int(betas["min_obs"].mode().iloc[0])
        written, results = _write_all(con, checks.REGIME_SIGNALS, out)
    shown = (out[["symbol", "beta_mkt_mean", "beta_cv", "r2_longrun", "r2_recent", "r2_decay", "n_shifts",
                  "last_shift_date"]] if len(out) else pd.DataFrame())
    yield dg.MaterializeResult(metadata={
        **written,
        **_empty_note(written, "needs rolling betas; rolling_betas holds none (a rolling beta needs "
                               f">= {RollingBetasConfig().min_obs} daily observations per coin)"),
        "coins_with_shifts": int((out["n_shifts"] > 0).sum()) if len(out) else 0,
        "signals": md(frame_markdown(shown)),
        "parameters": md(f"horizon_days={config.horizon_days}, z_threshold={config.z_threshold}, "
                         f"recent_days={config.recent_days}"),
    })
    yield from results


# --------------------------------------------------------------------------------------------
# 9. LTW replication on LTW's calendar
# --------------------------------------------------------------------------------------------
class LtwReplicationConfig(dg.Config):
    breakpoint_universe: str = "all"
    cmom_construction: str = "double_sort"
    investable_top_n: int = 100
    n_quantiles: int = 5
    vol_column: str = "avg_volume"
    winsor_lower: float = 0.01
    winsor_upper: float = 0.99


def compute_ltw_replication(daily: pd.DataFrame, breakpoint_universe: str = "all",
                            cmom_construction: str = "double_sort", investable_top_n: int = 100,
                            n_quantiles: int = 5, vol_column: str = "avg_volume",
                            winsor: tuple[float, float] | None = (0.01, 0.99), rf=0.0,
                            rf_source: str = "default") -> pd.DataFrame:
    """Whole-history LTW-calendar weekly panel -> characteristics -> portfolios and factors (long)."""
    weekly = aggregate_weekly(daily, calendar="ltw")
    chars = weekly_characteristics(weekly, winsor, calendar="ltw", vol_column=vol_column)
    ports = sort_portfolios(chars, None, n_quantiles, breakpoint_universe, calendar="ltw",
                            investable_top_n=investable_top_n)
    ports["portfolio"] = ports["portfolio"].where(ports["quantile"].notna(), "LS")
    if isinstance(rf, pd.Series):
        rf = rf.copy()
    fac = factor_returns(chars, period_col="week_start", calendar="ltw", momentum_col="r3_0",
                         cmom_construction=cmom_construction, breakpoint_universe=breakpoint_universe,
                         investable_top_n=investable_top_n, rf=rf)
    f_long = fac.melt(id_vars=["period", "formation_period", "n_coins"], value_vars=["cmkt", "csmb", "cmom"],
                      var_name="name", value_name="ret").assign(series="factor", portfolio="", weighting="vw")
    p_long = ports.melt(id_vars=["period", "hold_period", "characteristic", "portfolio", "n_coins"],
                        value_vars=["ew_ret", "vw_ret"], var_name="weighting", value_name="ret")
    p_long = p_long.assign(series="portfolio", weighting=p_long["weighting"].str[:2]).rename(
        columns={"period": "formation_period", "hold_period": "period", "characteristic": "name"})
    out = pd.concat([f_long, p_long], ignore_index=True).rename(
        columns={"period": "week_start", "formation_period": "formation_week"})
    out["n_coins"] = out["n_coins"].astype(np.int64)
    return out.assign(calendar="ltw", breakpoint_universe=breakpoint_universe, cmom_construction=cmom_construction,
                      n_quantiles=n_quantiles, rf_source=rf_source)[
        ["series", "name", "portfolio", "weighting", "week_start", "formation_week", "ret", "n_coins", "calendar",
         "breakpoint_universe", "cmom_construction", "n_quantiles", "rf_source"]]


def ltw_summary(rep: pd.DataFrame) -> pd.DataFrame:
    """Weekly mean, SD (in %) and t of the three factors and of every VW / EW Q5 - Q1."""
    keep = (rep["series"] == "factor") | (rep["portfolio"] == "LS")
    sel = rep.loc[keep].assign(label=lambda d: np.where(d["series"] == "factor", d["name"],
                                                        d["name"] + " LS " + d["weighting"].str.upper()))
    wide = sel.pivot_table(index="week_start", columns="label", values="ret")
    order = [c for c in WEEKLY_FACTORS if c in wide.columns] + sorted(c for c in wide.columns
                                                                     if c not in WEEKLY_FACTORS)
    return _window_summary(wide, order)


@dg.asset(
    name=LTW_REPLICATION,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[DAILY_PANEL],
    check_specs=checks.LTW_REPLICATION.specs(),
)
def ltw_replication_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                          config: LtwReplicationConfig):
    """LTW (2022) replication over the WHOLE stored daily_panel on LTW's calendar (52 weeks a year,
    week 1 = Jan 1-7, week 52 = 8 or 9 days), with the same functions as the partitioned assets:
    `aggregate_weekly(calendar="ltw")`, `weekly_characteristics`, `characteristic_portfolios`,
    `factor_returns`. Long format: factors CMKT / CSMB / CMOM and every characteristic's Q1..Q5 and
    LS (EW and VW) per holding LTW week; breakpoint universe and CMOM construction stored. Compare
    with LTW's published 2014-2020 figures (CMKT 1.330 % / 11.23 %, CSMB 2.308 % / 14.12 %, CMOM
    2.231 % / 13.37 % weekly mean / SD) with care: the universes differ.
    """
    with connect(duckdb) as con:
        con.execute(load_sql("create_daily_panel"))  # a summary run on a fresh file: none yet
        daily = read_sql_frame(con, load_sql("select_daily_panel_window"),
                               {"start": dt.date(1970, 1, 1), "end": dt.date(2200, 1, 1)}, ["date"])
        if daily.empty:  # nothing stored yet (e.g. a source without data in the range): an empty table
            written, results = _write_all(con, checks.LTW_REPLICATION, pd.DataFrame())
            yield dg.MaterializeResult(metadata={**written, **_empty_note(written, "daily_panel holds no rows")})
            yield from results
            return
        from cryptofactor_assets.estimators.ltw_calendar import ltw_week_start
        week_starts = pd.DatetimeIndex(np.unique(ltw_week_start(daily["date"].to_numpy())))
        rf, rf_source, rf_note = risk_free_series(week_starts, "weekly")
        out = compute_ltw_replication(daily, config.breakpoint_universe, config.cmom_construction,
                                      config.investable_top_n, config.n_quantiles, config.vol_column,
                                      (config.winsor_lower, config.winsor_upper), rf, rf_source)
        written, results = _write_all(con, checks.LTW_REPLICATION, out)
    summary = ltw_summary(out)
    fac = out.loc[out["series"] == "factor"].pivot_table(index="week_start", columns="name", values="ret")
    yield dg.MaterializeResult(metadata={
        **written,
        **_empty_note(written, lambda: (
            f"needs coins eligible in an LTW week before a holding week (market cap >= $1M, complete week); "
            f"daily_panel holds {daily['date'].nunique()} days ({daily['date'].min().date()} .. "
            f"{daily['date'].max().date()}) in {len(week_starts)} LTW weeks")),
        "weeks": int(out["week_start"].nunique()),
        "risk_free": rf_note + " (LTW week 52 is 8-9 days; the weekly rate assumes 7)",
        "parameters": md(f"calendar=ltw, breakpoint_universe={config.breakpoint_universe}, cmom_construction="
                         f"{config.cmom_construction}, n_quantiles={config.n_quantiles}, "
                         f"vol_column={config.vol_column}"),
        "summary": md(frame_markdown(summary)),
        "cumulative_factors": _cumulative_plot(fac[[c for c in WEEKLY_FACTORS if c in fac.columns]],
                                               "LTW-calendar CMKT, CSMB, CMOM (cumulative)"),
    })
    yield from results
