"""Weekly factor assets (ISO-week partitions): LTW characteristics, characteristic portfolios, weekly
factors, and the Fama-MacBeth first step (unpartitioned: every stored week in one pass). Thin shells: read with the look-back, call the pure table
functions of ``factors/compute_*.py``, return the rows (written and checked by ``lib.table_asset``)."""

import dataclasses
import datetime as dt

import dagster as dg
import pandas as pd

from cryptofactor_assets.common import md, mondays
from cryptofactor_assets.factors import checks
from cryptofactor_assets.factors.assets_common import (
    GROUP,
    KINDS,
    cumulative_plot,
    grouped,
    read_signal_inputs,
    table_md,
)
from cryptofactor_assets.factors.characteristics import LTW_CHARACTERISTICS
from cryptofactor_assets.factors.compute_fama_macbeth import compute_fm_gammas
from cryptofactor_assets.factors.compute_weekly import (
    ALL_WEEKLY_FACTORS,
    CHARACTERISTICS_LOOKBACK_WEEKS,
    FORMATION_LAG_WEEKS,
    WEEKLY_DAILY_LOOKBACK_DAYS,
    WEEKLY_FUNDING_LOOKBACK_DAYS,
    WEEKLY_ONCHAIN_LOOKBACK_DAYS,
    compute_characteristic_portfolios,
    compute_weekly_characteristics,
    compute_weekly_factors,
)
from cryptofactor_assets.factors.signals import (
    CHAIN_LONG_DAYS,
    CHAIN_SHORT_DAYS,
    FUND_LOOKBACK_DAYS,
    VOL_MIN_OBS,
    WEEKLY_VOL_LOOKBACK_DAYS,
)
from cryptofactor_assets.factors.summaries import eligible_count, formation_lacks, window_summary
from cryptofactor_assets.factors.tables import (
    CHARACTERISTIC_PORTFOLIOS,
    FACTOR_RETURNS_WEEKLY,
    FAMA_MACBETH_GAMMAS,
    ROLLING_BETAS,
    WEEKLY_CHARACTERISTICS,
)
from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels.tables import DAILY_PANEL, WEEKLY_PANEL
from cryptofactor_assets.partitions import previous_weeks, week_and_previous_days, weekly_partitions
from cryptofactor_assets.sources.tables import RAW_FUNDING_RATES, RAW_ONCHAIN_ACTIVITY
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import ensure_table, load_sql

FORMATION_LAG = dt.timedelta(weeks=FORMATION_LAG_WEEKS)


def _formation_characteristics(run: TableRun) -> pd.DataFrame:
    """weekly_characteristics of the formation weeks of the run's holding weeks (and the weeks themselves)."""
    return read_sql_frame(run.con, load_sql("select_weekly_characteristics_window", domain="factors"),
                          {"start": run.start - FORMATION_LAG, "end": run.end}, ["week_start"])


class CharacteristicsConfig(dg.Config):
    winsorize: bool = True
    winsor_lower: float = 0.01
    winsor_upper: float = 0.99
    winsorize_on: str = "eligible"  # eligible | all
    vol_column: str = "avg_volume"  # avg_volume (base units) | avg_dollar_volume (USD, as CMC/CoinGecko)


@table_asset(checks.WEEKLY_CHARACTERISTICS, group=GROUP, partitions_def=weekly_partitions, kinds=KINDS,
             config=CharacteristicsConfig,
             deps=[dg.AssetDep(WEEKLY_PANEL, partition_mapping=previous_weeks(CHARACTERISTICS_LOOKBACK_WEEKS))])
def weekly_characteristics_asset(run: TableRun) -> TableOutput:
    """LTW (2022, Table II) characteristics per coin and ISO week, from `weekly_panel` weeks t-4..t only.

    MCAP = log last-day market cap, PRC = log last-day close, MAXDPRC = max daily close, r1,0..r4,0 =
    past 1..4-week cumulative returns, r4,1 = weeks t-3..t-1, VOL = log mean daily volume, PRCVOL = log
    mean dollar volume, STDPRCVOL = log std of dollar volume, AGE in weeks; non-return variables
    winsorised at 1/99 % each week over the eligible coins (configurable). Raw `market_cap` (weights),
    the week's `ret` and `in_universe` are kept for the sorts. Numerics:
    `factors.characteristics.weekly_characteristics`.
    """
    config, start, end = run.config, run.start, run.end
    lo = start - dt.timedelta(weeks=CHARACTERISTICS_LOOKBACK_WEEKS)
    winsor = (config.winsor_lower, config.winsor_upper) if config.winsorize else None
    panel = read_sql_frame(run.con, load_sql("select_weekly_panel_window"), {"start": lo, "end": end}, ["week_start"])
    chars = compute_weekly_characteristics(panel, start, end, winsor, config.winsorize_on, config.vol_column)
    summary = chars.loc[chars["in_universe"], list(LTW_CHARACTERISTICS)].describe().T.reset_index()
    return TableOutput({WEEKLY_CHARACTERISTICS: chars}, empty_reason=(
        f"needs weekly_panel rows in the window; weekly_panel holds {len(panel)} "
        f"coin-weeks in {lo} .. {end} (exclusive)"), metadata={
        "eligible_coin_weeks": int(chars["in_universe"].sum()),
        "parameters": md(f"winsor={winsor}, winsorize_on={config.winsorize_on}, vol_column={config.vol_column}, "
                         "calendar=iso"),
        "eligible_summary": table_md(summary[["index", "count", "mean", "std", "min", "max"]]),
    })


class PortfolioConfig(dg.Config):
    n_quantiles: int = 5
    breakpoint_universe: str = "all"  # all (LTW) | investable
    investable_top_n: int = 100
    min_coins: int = 1


@table_asset(checks.CHARACTERISTIC_PORTFOLIOS, group=GROUP, partitions_def=weekly_partitions, kinds=KINDS,
             config=PortfolioConfig,
             deps=[dg.AssetDep(WEEKLY_CHARACTERISTICS, partition_mapping=previous_weeks(FORMATION_LAG_WEEKS))])
def characteristic_portfolios_asset(run: TableRun) -> TableOutput:
    """Quintile portfolios on each LTW characteristic of week w-1, held over week w (the partition).

    Breakpoints: quantiles (linear interpolation) of the characteristic over the eligible coins of
    week w-1 ("all", LTW) or the investable top-N; equal- and value-weighted (market cap at w-1)
    returns over week w; `LS` = Q5 - Q1. LTW (2022) Tables III-IV. Numerics:
    `factors.sorts.characteristic_portfolios`.
    """
    config, start, end = run.config, run.start, run.end
    chars = _formation_characteristics(run)
    ports = compute_characteristic_portfolios(chars, start, end, config.n_quantiles, config.breakpoint_universe,
                                              config.investable_top_n, config.min_coins)
    ls = ports.loc[ports["portfolio"] == "LS"]
    wide = ls.pivot_table(index="week_start", columns="characteristic", values="vw_ret", dropna=False)
    table = window_summary(wide, sorted(ls["characteristic"].unique())) if len(ls) else pd.DataFrame()
    return TableOutput({CHARACTERISTIC_PORTFOLIOS: ports}, empty_reason=lambda: formation_lacks(
        chars, "week_start", start - FORMATION_LAG, end - FORMATION_LAG, "week"), metadata={
        "parameters": md(f"n_quantiles={config.n_quantiles}, breakpoint_universe={config.breakpoint_universe}, "
                         f"investable_top_n={config.investable_top_n}, min_coins={config.min_coins}"),
        "vw_long_short_in_window": table_md(table),
    })


class FactorConfig(dg.Config):
    constructions: list[str] = ["double_sort", "single_sort"]
    breakpoint_universe: str = "all"
    investable_top_n: int = 100
    min_coins_per_leg: int = 1
    momentum_signal: str = "r3_0"  # r3_0 (LTW) | r4_0 (4 weeks: the whole-week analogue of the chapter's 30 days)
    vol_lookback: int = WEEKLY_VOL_LOOKBACK_DAYS  # CVOL: sd of the daily returns of weeks t-3..t
    vol_min_obs: int = VOL_MIN_OBS
    fund_lookback: int = FUND_LOOKBACK_DAYS  # CFUND: funding paid over week t
    chain_measure: str = "active_addresses"  # CCHAIN: active_addresses | tx_count
    chain_short: int = CHAIN_SHORT_DAYS
    chain_long: int = CHAIN_LONG_DAYS


@table_asset(checks.FACTOR_RETURNS_WEEKLY, group=GROUP, partitions_def=weekly_partitions, kinds=KINDS,
             config=FactorConfig, required_resource_keys={RISK_FREE},
             deps=[dg.AssetDep(WEEKLY_CHARACTERISTICS, partition_mapping=previous_weeks(FORMATION_LAG_WEEKS)),
                   dg.AssetDep(DAILY_PANEL, partition_mapping=week_and_previous_days(WEEKLY_DAILY_LOOKBACK_DAYS)),
                   dg.AssetDep(RAW_FUNDING_RATES,
                               partition_mapping=week_and_previous_days(WEEKLY_FUNDING_LOOKBACK_DAYS)),
                   dg.AssetDep(RAW_ONCHAIN_ACTIVITY,
                               partition_mapping=week_and_previous_days(WEEKLY_ONCHAIN_LOOKBACK_DAYS))])
def factor_returns_weekly_asset(run: TableRun) -> TableOutput:
    """LTW (2022, Section III) weekly CMKT, CSMB, CMOM and the chapter's CVOL, CFUND, CCHAIN per holding week w.

    Portfolios formed at the end of w-1.

    CMKT = value-weighted return of the eligible coins (weights: market cap at w-1) minus the risk-free
    rate; CSMB = VW(bottom 30 % market cap) - VW(top 30 %); CMOM on r3,0 (`momentum_signal` r4_0: the
    4-week analogue of the chapter's 30 days): `double_sort` = JF 2x3 size x momentum,
    (SW + BW)/2 - (SL + BL)/2, `single_sort` = WP 30/40/30 winners - losers (both stored,
    `construction` column). Built the same way on signals of week w-1 (`factors.signals`): CVOL = low
    minus high sd of the daily returns of weeks w-4..w-1; CFUND = low minus high funding paid over week
    w-1 (raw_funding_rates; NULL without funding data); CCHAIN = high minus low on-chain activity growth
    on w-1's Sunday (raw_onchain_activity; NULL without it). Risk-free: `sources.risk_free` (env
    CRYPTOFACTOR_RISK_FREE_CSV / _PCT), else 0 (see `rf_source`). Numerics: `factors.construction.factor_returns`.
    """
    config, start, end = run.config, run.start, run.end
    rf, rf_source, rf_note = run.context.resources.risk_free.series(mondays(start, end), "weekly")
    chars = _formation_characteristics(run)
    daily = read_sql_frame(run.con, load_sql("select_daily_panel_window"),
                           {"start": start - dt.timedelta(days=max(WEEKLY_DAILY_LOOKBACK_DAYS, config.vol_lookback)),
                            "end": end}, ["date"])
    funding, onchain, notes = read_signal_inputs(
        run.con, start, end, max(WEEKLY_FUNDING_LOOKBACK_DAYS, config.fund_lookback),
        max(WEEKLY_ONCHAIN_LOOKBACK_DAYS, config.chain_short + config.chain_long))
    try:
        out = compute_weekly_factors(chars, start, end, config.constructions, config.breakpoint_universe,
                                     config.investable_top_n, config.min_coins_per_leg, rf, rf_source, daily=daily,
                                     funding=funding, onchain=onchain, momentum_signal=config.momentum_signal,
                                     vol_lookback=config.vol_lookback, vol_min_obs=config.vol_min_obs,
                                     fund_lookback=config.fund_lookback, chain_measure=config.chain_measure,
                                     chain_short=config.chain_short, chain_long=config.chain_long)
    except ValueError as exc:
        raise dg.Failure(str(exc)) from None

    def metadata(_written) -> dict:
        history = run.con.execute(load_sql("select_factor_returns_weekly_history", domain="factors"),
                                  {"end": end}).df()
        meta = {
            "risk_free": rf_note,
            "parameters": md(f"constructions={list(config.constructions)}, breakpoint_universe="
                             f"{config.breakpoint_universe}, investable_top_n={config.investable_top_n}, "
                             f"min_coins_per_leg={config.min_coins_per_leg}, calendar=iso, momentum_signal="
                             f"{config.momentum_signal}, vol_lookback={config.vol_lookback}, fund_lookback="
                             f"{config.fund_lookback}, chain={config.chain_measure} "
                             f"{config.chain_short}/{config.chain_long} days"),
            "notes": md("\n".join(f"- {n}" for n in notes) or "none"),
        }
        for construction in config.constructions:
            h = history.loc[history["construction"] == construction].set_index("week_start")[list(ALL_WEEKLY_FACTORS)]
            h = h.loc[:, h.notna().any()]
            if len(h) >= 2:
                h.index = pd.to_datetime(h.index)
                meta[f"summary_{construction}"] = table_md(window_summary(h, ALL_WEEKLY_FACTORS))
                meta[f"cumulative_{construction}"] = cumulative_plot(
                    h, f"Cumulative weekly factor returns ({construction})")
        return meta

    return TableOutput({FACTOR_RETURNS_WEEKLY: out}, metadata=metadata, empty_reason=lambda: formation_lacks(
        chars, "week_start", start - FORMATION_LAG, end - FORMATION_LAG, "week"))


class FamaMacBethConfig(dg.Config):
    characteristics: list[str] = ["mcap", "r3_0"]
    standardise_characteristics: bool = True
    min_coins: int = 0  # 0: number of coefficients + 1


def _gammas_lack(run: TableRun, chars: pd.DataFrame, betas: pd.DataFrame) -> str:
    """What an empty fama_macbeth_gammas partition lacks: a week with enough coins and regressors."""
    config = run.config
    eligible, _ = eligible_count(chars, "week_start", run.start - FORMATION_LAG, run.end - FORMATION_LAG)
    return (f"needs, in some week w, at least min_coins ({config.min_coins or 'K + 2'}) coins eligible at w-1 "
            f"with a week-w return and the regressors (rolling betas as of the day before w, or "
            f"{', '.join(config.characteristics)} of w-1); the formation weeks hold {eligible} eligible "
            f"coin-weeks and {len(betas)} rolling betas on the formation days")


@table_asset(checks.FAMA_MACBETH_GAMMAS, group=GROUP, kinds=KINDS, config=FamaMacBethConfig,
             required_resource_keys={RISK_FREE}, deps=[WEEKLY_CHARACTERISTICS, ROLLING_BETAS])
def fama_macbeth_gammas_asset(run: TableRun) -> TableOutput:
    """Fama-MacBeth (1973) first step: for each week w, OLS across coins of the week-w excess return on
    a constant and (a) rolling betas as of the last day of week w-1 (spec `betas`: the betas of every
    factor the rolling regressions used that day, beta_mkt, beta_size, beta_mom and beta_vol,
    beta_fund, beta_chain where their inputs exist; `regressors` column) or (b) LTW characteristics of
    week w-1 (spec `characteristics`,
    z-scored across coins each week). Coins eligible at w-1 with all regressors. One row per week,
    spec and coefficient (gamma), with the cross-sectional R², the number of coins and the
    coefficient's row of the week's X'X (`xtx_row`: with the gammas it gives fama_macbeth_premia
    the pooled OLS of all coin-weeks and its Driscoll-Kraay errors). Nothing after week w is used.
    Unpartitioned: one pass over every stored week (the weeks are independent cross-sections, cheap
    to recompute; a weekly partition would cost Dagster two events per week for no gain).
    """
    config = run.config
    ensure_table(run.con, WEEKLY_CHARACTERISTICS)
    first, last = run.con.execute(load_sql("select_weekly_characteristics_bounds", domain="factors")).fetchone()
    if first is None:
        return TableOutput({FAMA_MACBETH_GAMMAS: pd.DataFrame()}, empty_reason="needs weekly_characteristics")
    # holding weeks: every stored week after the first (week w's regressors are of week w-1)
    start, end = first + FORMATION_LAG, last + dt.timedelta(days=7)
    run = dataclasses.replace(run, start=start, end=end)
    weeks = mondays(start, end)
    rf, _, _ = run.context.resources.risk_free.series(weeks, "weekly")
    chars = _formation_characteristics(run)
    beta_days = [d.date() for d in weeks - pd.Timedelta(days=1)]
    betas = read_sql_frame(run.con, load_sql("select_rolling_betas_on_dates", domain="factors"),
                           {"dates": beta_days}, ["date"])
    out = compute_fm_gammas(chars, betas, weeks, config.characteristics, config.standardise_characteristics,
                            config.min_coins, rf)
    per_spec = grouped(out, ["spec", "coefficient"], "gamma", ["count", "mean", "std"])
    return TableOutput({FAMA_MACBETH_GAMMAS: out}, metadata={
        "parameters": md(f"characteristics={list(config.characteristics)}, standardised="
                         f"{config.standardise_characteristics}, min_coins={config.min_coins or 'K + 2'}"),
        "gammas_in_window": table_md(per_spec),
    }, empty_reason=lambda: _gammas_lack(run, chars, betas))
