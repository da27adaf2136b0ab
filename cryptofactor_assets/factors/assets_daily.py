"""Daily factor assets: the daily MKT, SIZE, MOM, VOL, FUND, CHAIN factors and the rolling betas on them.

Both are partitioned by ISO week and hold one row per day / coin-day of their 7 days: their daily
look-backs (derived from the momentum and signal look-backs and the rolling window of
``factors/compute_daily.py``) are declared as whole weeks before the partition's Monday
(``week_and_previous_days``), for daily_panel, raw_funding_rates and raw_onchain_activity alike. Thin
shells over the pure table functions; ``lib.table_asset`` writes and checks the rows.
"""

import datetime as dt

import dagster as dg
import pandas as pd

from cryptofactor_assets.common import md
from cryptofactor_assets.factors import checks
from cryptofactor_assets.factors.assets_common import GROUP, KINDS, grouped, read_signal_inputs, table_md
from cryptofactor_assets.factors.compute_daily import (
    ALL_FACTOR_NAMES,
    DAILY_FACTOR_LOOKBACK_DAYS,
    DEFAULT_BETA_FACTORS,
    FACTOR_NAMES,
    FUNDING_LOOKBACK_DAYS,
    MAX_MOMENTUM_LOOKBACK_DAYS,
    MOMENTUM_LOOKBACK_DAYS,
    ONCHAIN_LOOKBACK_DAYS,
    ROLLING_HAC_LAGS,
    ROLLING_LOOKBACK_DAYS,
    ROLLING_MIN_OBS,
    ROLLING_SE_TYPE,
    ROLLING_WINDOW_DAYS,
    check_beta_factors,
    compute_daily_factors,
    compute_rolling_betas,
    max_daily_obs,
)
from cryptofactor_assets.factors.signals import (
    CHAIN_LONG_DAYS,
    CHAIN_SHORT_DAYS,
    FUND_LOOKBACK_DAYS,
    VOL_LOOKBACK_DAYS,
    VOL_MIN_OBS,
)
from cryptofactor_assets.factors.summaries import formation_lacks, parse_lag_rule, window_summary
from cryptofactor_assets.factors.tables import FACTOR_RETURNS_DAILY, ROLLING_BETAS
from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels.tables import DAILY_PANEL
from cryptofactor_assets.partitions import week_and_previous_days, weekly_partitions
from cryptofactor_assets.sources.tables import RAW_FUNDING_RATES, RAW_ONCHAIN_ACTIVITY
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import load_sql

ONE_DAY = dt.timedelta(days=1)


def _daily_panel(run: TableRun, lookback_days: int) -> pd.DataFrame:
    return read_sql_frame(run.con, load_sql("select_daily_panel_window"),
                          {"start": run.start - dt.timedelta(days=lookback_days), "end": run.end}, ["date"])


class DailyFactorConfig(dg.Config):
    construction: str = "double_sort"  # of MOM, VOL, FUND, CHAIN: double_sort (2x3 with size) | single_sort
    breakpoint_universe: str = "all"
    investable_top_n: int = 100
    momentum_lookback: int = MOMENTUM_LOOKBACK_DAYS  # 21 (LTW's 3 weeks) | 30 (the chapter's) | any <= 30
    min_coins_per_leg: int = 1
    vol_lookback: int = VOL_LOOKBACK_DAYS  # VOL: sd of the daily returns of the last 30 days
    vol_min_obs: int = VOL_MIN_OBS  # ... with at least 20 returns
    fund_lookback: int = FUND_LOOKBACK_DAYS  # FUND: funding paid over the last 7 days
    chain_measure: str = "active_addresses"  # CHAIN: active_addresses | tx_count
    chain_short: int = CHAIN_SHORT_DAYS  # CHAIN: log(mean of the last 7 days / mean of the 28 before)
    chain_long: int = CHAIN_LONG_DAYS


@table_asset(checks.FACTOR_RETURNS_DAILY, group=GROUP, partitions_def=weekly_partitions, kinds=KINDS,
             config=DailyFactorConfig, required_resource_keys={RISK_FREE},
             deps=[dg.AssetDep(DAILY_PANEL, partition_mapping=week_and_previous_days(DAILY_FACTOR_LOOKBACK_DAYS)),
                   dg.AssetDep(RAW_FUNDING_RATES, partition_mapping=week_and_previous_days(FUNDING_LOOKBACK_DAYS)),
                   dg.AssetDep(RAW_ONCHAIN_ACTIVITY, partition_mapping=week_and_previous_days(ONCHAIN_LOOKBACK_DAYS))])
def factor_returns_daily_asset(run: TableRun) -> TableOutput:
    """Daily MKT, SIZE, MOM, VOL, FUND, CHAIN per holding day d, built like LTW's weekly factors at daily frequency.

    Portfolios formed on day d-1 (eligible coins, market-cap weights at d-1), returns over day d.
    MKT = VW universe return - rf; SIZE = VW(bottom 30 % cap) - VW(top 30 %); MOM on the past
    `momentum_lookback` (21; the chapter's 30 selectable) daily returns up to d-1; VOL = low minus high
    sd of the last 30 daily returns; FUND = low minus high funding paid over the last 7 days
    (raw_funding_rates, the carry direction); CHAIN = high minus low on-chain activity growth, log(mean
    active addresses of the last 7 days / the 28 before) (raw_onchain_activity); MOM, VOL, FUND, CHAIN
    as `construction` (2x3 size x signal by default), coins without a signal left out of that factor's
    legs only (`factors.signals`, `factors.construction`). FUND / CHAIN are NULL (never 0) where their
    input does not exist (no funding on spot or file sources, no on-chain file). Feed of the rolling
    betas. Partitioned by ISO week: a partition holds the 7 daily rows of its week (reading daily_panel
    from 31 days, funding from 7 days and on-chain activity from 35 days before its Monday).
    """
    config, start, end = run.config, run.start, run.end
    if not 1 <= config.momentum_lookback <= MAX_MOMENTUM_LOOKBACK_DAYS:
        raise dg.Failure(f"momentum_lookback must be in 1 .. {MAX_MOMENTUM_LOOKBACK_DAYS} days (21: LTW's three "
                         f"weeks, 30: the chapter's window); got {config.momentum_lookback}")
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end) - pd.Timedelta(days=1))
    rf, rf_source, rf_note = run.context.resources.risk_free.series(days, "daily")
    daily = _daily_panel(run, max(DAILY_FACTOR_LOOKBACK_DAYS, config.momentum_lookback + 1, config.vol_lookback))
    funding, onchain, notes = read_signal_inputs(run.con, start, end, max(FUNDING_LOOKBACK_DAYS, config.fund_lookback),
                                                 max(ONCHAIN_LOOKBACK_DAYS, config.chain_short + config.chain_long))
    out = compute_daily_factors(daily, start, end, config.construction, config.breakpoint_universe,
                                config.investable_top_n, config.momentum_lookback, config.min_coins_per_leg,
                                rf, rf_source, funding=funding, onchain=onchain, vol_lookback=config.vol_lookback,
                                vol_min_obs=config.vol_min_obs, fund_lookback=config.fund_lookback,
                                chain_measure=config.chain_measure, chain_short=config.chain_short,
                                chain_long=config.chain_long)
    meta = {
        "risk_free": rf_note,
        "parameters": md(f"construction={config.construction}, breakpoint_universe={config.breakpoint_universe}, "
                         f"momentum_lookback={config.momentum_lookback}, vol_lookback={config.vol_lookback} "
                         f"(>= {config.vol_min_obs} returns), fund_lookback={config.fund_lookback}, chain="
                         f"{config.chain_measure} {config.chain_short}/{config.chain_long} days"),
        "notes": md("\n".join(f"- {n}" for n in notes) or "none"),
    }
    if len(out) >= 2:
        meta["summary"] = table_md(window_summary(out.set_index("date"), ALL_FACTOR_NAMES, 365))
    return TableOutput({FACTOR_RETURNS_DAILY: out}, metadata=meta, empty_reason=lambda: formation_lacks(
        daily, "date", start - ONE_DAY, end - ONE_DAY, "day"))


class RollingBetasConfig(dg.Config):
    window: int = ROLLING_WINDOW_DAYS
    min_obs: int = ROLLING_MIN_OBS
    se_type: str = ROLLING_SE_TYPE  # hc3 | white (HC0) | hc1 | hac (Newey-West) | classical
    hac_lags: str = str(ROLLING_HAC_LAGS)  # se_type hac: 4t100 | t14 | an integer (applied to the window)
    factors: list[str] = list(DEFAULT_BETA_FACTORS)  # mkt, size, mom always; any of vol, fund, chain


def _rolling_betas_lack(config: RollingBetasConfig, daily: pd.DataFrame, factors: pd.DataFrame) -> str:
    """What an empty rolling_betas partition lacks: enough daily observations of a coin in a window."""
    names = [f for f in config.factors if f in FACTOR_NAMES or (f in factors.columns and factors[f].notna().any())]
    most = max_daily_obs(daily, factors, config.window, names)
    complete = len(factors.dropna(subset=names)) if len(factors) else 0
    return (f"needs >= {config.min_obs} daily observations per coin (returns on days with every factor used: "
            f"{', '.join(names)}; MOM needing {MOMENTUM_LOOKBACK_DAYS} days of history, VOL 30, CHAIN 35) in the "
            f"{config.window}-day window; the most any coin has in a window is {most} (days with all of them "
            f"read: {complete} of {len(factors)}; a factor is undefined on days with an empty leg)")


@table_asset(checks.ROLLING_BETAS, group=GROUP, partitions_def=weekly_partitions, kinds=KINDS,
             config=RollingBetasConfig, deps=[
                 dg.AssetDep(DAILY_PANEL, partition_mapping=week_and_previous_days(ROLLING_LOOKBACK_DAYS)),
                 dg.AssetDep(FACTOR_RETURNS_DAILY, partition_mapping=week_and_previous_days(ROLLING_LOOKBACK_DAYS)),
             ])
def rolling_betas_asset(run: TableRun) -> TableOutput:
    """Per coin-day rolling OLS of daily excess returns on the daily factors (MKT, SIZE, MOM, VOL, FUND, CHAIN).

    Window (t - window, t] in calendar days (default 90), at least `min_obs` (60) usable days; gaps,
    late listings and days a factor is undefined are masked, never bridged by shrinking the window; data
    up to day t only. Factors: the `factors` list (default all six); MKT, SIZE, MOM always enter, VOL,
    FUND, CHAIN unless a week's regressions read no value of it (no funding on spot / file sources, no
    on-chain file), stored per row in `factors` (the betas of a factor left out are NULL).
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
    try:
        names = check_beta_factors(config.factors)
    except ValueError as exc:
        raise dg.Failure(str(exc)) from None
    daily = _daily_panel(run, config.window - 1)
    factors = read_sql_frame(run.con, load_sql("select_factor_returns_daily_window", domain="factors"),
                             {"start": start - dt.timedelta(days=config.window - 1), "end": end}, ["date"])
    constructions = sorted(set(factors["construction"]))
    out = compute_rolling_betas(daily, factors, start, end, config.window, config.min_obs, config.se_type,
                                parse_lag_rule(config.hac_lags), names)
    out["construction"] = ",".join(constructions) or "none"
    used = [f"beta_{f}" for f in ALL_FACTOR_NAMES if len(out) and out[f"beta_{f}"].notna().any()]
    by_coin = grouped(out, "symbol", [*used, "r2"], "mean") if used else pd.DataFrame()
    lags = f" ({out['se_lags'].iloc[0]} lags)" if config.se_type == "hac" and len(out) else ""
    sets = (out.groupby("factors")["date"].agg(["min", "max", "nunique"]).reset_index()
            .rename(columns={"min": "first_day", "max": "last_day", "nunique": "days"}) if len(out) else pd.DataFrame())
    return TableOutput({ROLLING_BETAS: out}, metadata={
        "parameters": md(f"window={config.window} days, min_obs={config.min_obs}, factors={list(names)}, "
                         f"daily factor construction={constructions}, standard errors={config.se_type}{lags}"),
        "factors_used": table_md(sets),
        "mean_by_coin": table_md(by_coin),
    }, empty_reason=lambda: _rolling_betas_lack(config, daily, factors))
