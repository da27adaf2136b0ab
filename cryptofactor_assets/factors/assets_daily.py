"""Daily factor assets: the daily MKT, SIZE, MOM factors and the rolling betas on them.

Both are partitioned by ISO week and hold one row per day / coin-day of their 7 days: their daily
look-backs (derived from the momentum look-back and the rolling window of ``factors/compute_daily.py``)
are declared as whole weeks before the partition's Monday (``week_and_previous_days``). Thin shells
over the pure table functions; ``lib.table_asset`` writes and checks the rows.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from cryptofactor_assets.common import md
from cryptofactor_assets.factors import checks
from cryptofactor_assets.factors.assets_common import GROUP, KINDS, grouped, table_md
from cryptofactor_assets.factors.compute_daily import (
    DAILY_FACTOR_LOOKBACK_DAYS,
    FACTOR_NAMES,
    MOMENTUM_LOOKBACK_DAYS,
    ROLLING_HAC_LAGS,
    ROLLING_LOOKBACK_DAYS,
    ROLLING_MIN_OBS,
    ROLLING_SE_TYPE,
    ROLLING_WINDOW_DAYS,
    compute_daily_factors,
    compute_rolling_betas,
    max_daily_obs,
)
from cryptofactor_assets.factors.summaries import formation_lacks, parse_lag_rule, window_summary
from cryptofactor_assets.factors.tables import FACTOR_RETURNS_DAILY, ROLLING_BETAS
from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels.tables import DAILY_PANEL
from cryptofactor_assets.partitions import week_and_previous_days, weekly_partitions
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import load_sql

ONE_DAY = dt.timedelta(days=1)


def _daily_panel(run: TableRun, lookback_days: int) -> pd.DataFrame:
    return read_sql_frame(run.con, load_sql("select_daily_panel_window"),
                          {"start": run.start - dt.timedelta(days=lookback_days), "end": run.end}, ["date"])


class DailyFactorConfig(dg.Config):
    construction: str = "double_sort"
    breakpoint_universe: str = "all"
    investable_top_n: int = 100
    momentum_lookback: int = MOMENTUM_LOOKBACK_DAYS
    min_coins_per_leg: int = 1


@table_asset(checks.FACTOR_RETURNS_DAILY, group=GROUP, partitions_def=weekly_partitions, kinds=KINDS,
             config=DailyFactorConfig, required_resource_keys={RISK_FREE},
             deps=[dg.AssetDep(DAILY_PANEL, partition_mapping=week_and_previous_days(DAILY_FACTOR_LOOKBACK_DAYS))])
def factor_returns_daily_asset(run: TableRun) -> TableOutput:
    """Daily MKT, SIZE, MOM per holding day d, built like LTW's weekly factors at daily frequency.

    Portfolios formed on day d-1 (eligible coins, market-cap weights at d-1), returns over day d.
    MKT = VW universe return - rf; SIZE = VW(bottom 30 % cap) - VW(top 30 %); MOM on the past
    `momentum_lookback` (21) daily returns up to d-1 (`factors.construction.momentum_signal`),
    `construction` as CMOM. Feed of the rolling betas. Partitioned by ISO week: a partition holds
    the 7 daily rows of its week (reading daily_panel from 22 days before its Monday).
    """
    config, start, end = run.config, run.start, run.end
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(days=1))
    rf, rf_source, rf_note = run.context.resources.risk_free.series(days, "daily")
    daily = _daily_panel(run, max(DAILY_FACTOR_LOOKBACK_DAYS, config.momentum_lookback + 1))
    out = compute_daily_factors(daily, start, end, config.construction, config.breakpoint_universe,
                                config.investable_top_n, config.momentum_lookback, config.min_coins_per_leg,
                                rf, rf_source)
    meta = {
        "risk_free": rf_note,
        "parameters": md(f"construction={config.construction}, breakpoint_universe={config.breakpoint_universe}, "
                         f"momentum_lookback={config.momentum_lookback}"),
    }
    if len(out) >= 2:
        meta["summary"] = table_md(window_summary(out.set_index("date"), FACTOR_NAMES, 365))
    return TableOutput({FACTOR_RETURNS_DAILY: out}, metadata=meta, empty_reason=lambda: formation_lacks(
        daily, "date", start - ONE_DAY, end - ONE_DAY, "day"))


class RollingBetasConfig(dg.Config):
    window: int = ROLLING_WINDOW_DAYS
    min_obs: int = ROLLING_MIN_OBS
    se_type: str = ROLLING_SE_TYPE  # hc3 | white (HC0) | hc1 | hac (Newey-West) | classical
    hac_lags: str = str(ROLLING_HAC_LAGS)  # se_type hac: 4t100 | t14 | an integer (applied to the window)


def _rolling_betas_lack(config: RollingBetasConfig, daily: pd.DataFrame, factors: pd.DataFrame) -> str:
    """What an empty rolling_betas partition lacks: enough daily observations of a coin in a window."""
    most = max_daily_obs(daily, factors, config.window)
    complete = len(factors.dropna(subset=list(FACTOR_NAMES))) if len(factors) else 0
    return (f"needs >= {config.min_obs} daily observations per coin (returns on days with MKT, SIZE and MOM, "
            f"MOM needing {MOMENTUM_LOOKBACK_DAYS} days of history) in the {config.window}-day window; the most "
            f"any coin has in a window is {most} (days with all three factors read: {complete} of {len(factors)}; "
            "MOM is undefined on days with an empty size x momentum leg)")


@table_asset(checks.ROLLING_BETAS, group=GROUP, partitions_def=weekly_partitions, kinds=KINDS,
             config=RollingBetasConfig, deps=[
                 dg.AssetDep(DAILY_PANEL, partition_mapping=week_and_previous_days(ROLLING_LOOKBACK_DAYS)),
                 dg.AssetDep(FACTOR_RETURNS_DAILY, partition_mapping=week_and_previous_days(ROLLING_LOOKBACK_DAYS)),
             ])
def rolling_betas_asset(run: TableRun) -> TableOutput:
    """Per coin-day rolling OLS of daily excess returns on the daily MKT, SIZE, MOM factors.

    Window (t - window, t] in calendar days (default 90), at least `min_obs` (60) usable days; gaps
    and late listings are masked, never bridged by shrinking the window; data up to day t only.
    Columns: alpha, betas, their standard errors of type `se_type` (default HC3, White's robust
    errors with leverage-adjusted residuals; `white` HC0, `hc1`, `hac` Newey-West with `hac_lags`
    lags, `classical` s² (X'X)^-1; type and lags stored in `se_type`, `se_lags`; they feed the
    regime-shift z-test), centred R², residual vol, n_obs. Vectorised across all coins
    (`estimators.rolling_ols.rolling_ols`, equal to statsmodels RollingOLS(missing="drop") and
    per-window OLS HC0 / HC3 / HAC). Only coin-days with an estimate (and a panel row) are stored.
    Partitioned by ISO week: a partition holds the coin-days of its 7 days (reading `window` - 1 days
    of returns and daily factors before its Monday).
    """
    config, start, end = run.config, run.start, run.end
    daily = _daily_panel(run, config.window - 1)
    factors = read_sql_frame(run.con, load_sql("select_factor_returns_daily_window", domain="factors"),
                             {"start": start - dt.timedelta(days=config.window - 1), "end": end}, ["date"])
    constructions = sorted(set(factors["construction"]))
    out = compute_rolling_betas(daily, factors, start, end, config.window, config.min_obs, config.se_type,
                                parse_lag_rule(config.hac_lags))
    out["construction"] = ",".join(constructions) or "none"
    by_coin = grouped(out, "symbol", ["beta_mkt", "beta_size", "beta_mom", "r2"], "mean")
    lags = f" ({out['se_lags'].iloc[0]} lags)" if config.se_type == "hac" and len(out) else ""
    return TableOutput({ROLLING_BETAS: out}, metadata={
        "parameters": md(f"window={config.window} days, min_obs={config.min_obs}, factors={list(FACTOR_NAMES)}, "
                         f"daily factor construction={constructions}, standard errors={config.se_type}{lags}"),
        "mean_by_coin": table_md(by_coin),
    }, empty_reason=lambda: _rolling_betas_lack(config, daily, factors))
