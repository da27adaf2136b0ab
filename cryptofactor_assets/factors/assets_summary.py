"""Whole-history factor assets (unpartitioned): Fama-MacBeth premia, long-short alphas, regime signals
of the rolling betas and the LTW-calendar replication. Thin shells over the pure table functions of
``factors/compute_*.py``; ``lib.table_asset`` replaces and checks the whole tables."""

import datetime as dt

import dagster as dg
import numpy as np
import pandas as pd

from cryptofactor_assets.common import md
from cryptofactor_assets.estimators.ltw_calendar import DEFAULT_RETURN_RULE, check_return_rule, ltw_week_start
from cryptofactor_assets.factors import checks, research
from cryptofactor_assets.factors.assets_common import (
    GROUP,
    KINDS,
    config_text,
    cumulative_plot,
    table_md,
)
from cryptofactor_assets.factors.compute_daily import ROLLING_MIN_OBS, ROLLING_WINDOW_DAYS
from cryptofactor_assets.factors.compute_fama_macbeth import FM_MIN_PERIODS, compute_fm_premia
from cryptofactor_assets.factors.compute_summary import (
    compute_long_short_alphas,
    compute_ltw_long_short_alphas,
    compute_ltw_replication,
    compute_regime_signals,
    ltw_summary,
)
from cryptofactor_assets.factors.compute_weekly import WEEKLY_FACTORS
from cryptofactor_assets.factors.summaries import parse_lag_rule
from cryptofactor_assets.factors.tables import (
    CHARACTERISTIC_PORTFOLIOS,
    FACTOR_RETURNS_WEEKLY,
    FAMA_MACBETH_GAMMAS,
    FAMA_MACBETH_PREMIA,
    LONG_SHORT_ALPHAS,
    LTW_LONG_SHORT_ALPHAS,
    LTW_REPLICATION,
    REGIME_SIGNALS,
    ROLLING_BETAS,
)
from cryptofactor_assets.lib.resources import RISK_FREE
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels.tables import DAILY_PANEL
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import ensure_table, load_sql


def _stored(run: TableRun, table: str, sql_name: str, date_column: str) -> pd.DataFrame:
    """Every stored row of ``table`` the statement ``sql_name`` selects (none on a fresh file)."""
    ensure_table(run.con, table)
    return read_sql_frame(run.con, load_sql(sql_name, domain="factors"), date_columns=[date_column])


class PremiaConfig(dg.Config):
    lag_rule: str = "4t100"  # 4t100 | t14 | nw1994 | an integer
    periods_per_year: float = 52.0
    factor_construction: str = "double_sort"  # weekly factors whose covariance enters Shanken


@table_asset(checks.FAMA_MACBETH_PREMIA, group=GROUP, kinds=KINDS, config=PremiaConfig,
             deps=[FAMA_MACBETH_GAMMAS, FACTOR_RETURNS_WEEKLY])
def fama_macbeth_premia_asset(run: TableRun) -> TableOutput:
    """Fama-MacBeth premia over every stored week: mean gamma, std, t = mean / (std / sqrt(T)),
    Newey-West t (Bartlett, S / (T (T - 1)) as linearmodels FamaMacBeth kernel; lag rule configurable,
    lag used stored), Shanken (1992) t for the `betas` spec (variance of the FM mean adjusted by
    (1 + l' S_f^-1 l), S_f = covariance of the weekly factors of its betas: CMKT, CSMB, CMOM and CVOL,
    CFUND, CCHAIN when the betas include them), T and the annualised premium (52 x mean); a spec's
    premia use the weeks whose regressors are those of its latest week. Numerics: `estimators.fama_macbeth`.
    """
    config = run.config
    gammas = _stored(run, FAMA_MACBETH_GAMMAS, "select_fama_macbeth_gammas", "week_start")
    wf = research.read_weekly_factors(run.con, config.factor_construction)
    out = compute_fm_premia(gammas, wf if len(wf) else None, parse_lag_rule(config.lag_rule), config.periods_per_year)
    shown = (out[["spec", "coefficient", "mean", "t", "nw_t", "shanken_t", "nw_lags", "n_periods", "annualised"]]
             if len(out) else pd.DataFrame())
    weeks_by_spec = (gammas.groupby("spec")["week_start"].nunique().to_dict() if len(gammas) else {})
    return TableOutput({FAMA_MACBETH_PREMIA: out}, empty_reason=lambda: (
        f"needs >= {FM_MIN_PERIODS} weeks of Fama-MacBeth gammas per spec; fama_macbeth_gammas holds "
        + (", ".join(f"{k}: {v}" for k, v in sorted(weeks_by_spec.items())) or "none")), metadata={
        "premia": table_md(shown),
        "parameters": md(f"{config_text(config, 'lag_rule', 'periods_per_year')}, "
                         f"Shanken factors: the weekly factors of the betas ({config.factor_construction})"),
    })


class LongShortConfig(dg.Config):
    lag_rule: str = "4t100"
    construction: str = "double_sort"
    min_weeks: int = 8


@table_asset(checks.LONG_SHORT_ALPHAS, group=GROUP, kinds=KINDS, config=LongShortConfig,
             deps=[CHARACTERISTIC_PORTFOLIOS, FACTOR_RETURNS_WEEKLY])
def long_short_alphas_asset(run: TableRun) -> TableOutput:
    """LTW (2022) Table VIII style statistics of every Q5 - Q1 characteristic portfolio (EW and VW) over
    all stored weeks: mean with Newey-West t, CAPM alpha on CMKT and 3-factor alpha on CMKT, CSMB, CMOM
    (OLS with HAC t-stats, statsmodels cov_type="HAC" conventions; lag rule configurable and stored),
    annualised return / vol / Sharpe / max drawdown (`analytics.backtest.backtest_report`).
    """
    config = run.config
    ls = _stored(run, CHARACTERISTIC_PORTFOLIOS, "select_long_short_portfolios", "week_start")
    fac = research.read_weekly_factors(run.con, config.construction)
    out = compute_long_short_alphas(ls, fac, parse_lag_rule(config.lag_rule), config.construction, config.min_weeks)
    if out.empty:  # too short a history: an empty table, said so in the metadata
        return TableOutput({LONG_SHORT_ALPHAS: out}, metadata={
            "note": f"fewer than {config.min_weeks} weeks of long-short and factor returns stored"})
    shown = out.assign(mean_pct=100 * out["mean"], capm_alpha_pct=100 * out["capm_alpha"],
                       f3_alpha_pct=100 * out["f3_alpha"])[
        ["characteristic", "weighting", "n_weeks", "mean_pct", "mean_t_nw", "capm_alpha_pct", "capm_alpha_t",
         "f3_alpha_pct", "f3_alpha_t", "sharpe"]]
    vw = ls.pivot_table(index="week_start", columns="characteristic", values="vw_ret", dropna=False)
    return TableOutput({LONG_SHORT_ALPHAS: out}, metadata={
        "long_short_table": table_md(shown),
        "parameters": md(f"lag_rule={config.lag_rule}, factors={list(WEEKLY_FACTORS)} ({config.construction}), "
                         f"min_weeks={config.min_weeks}"),
        "cumulative_vw_long_shorts": cumulative_plot(vw, "Cumulative VW Q5 - Q1 returns"),
    })


class RegimeConfig(dg.Config):
    horizon_days: int = ROLLING_WINDOW_DAYS  # >= the rolling window: independent windows
    z_threshold: float = 3.0
    recent_days: int = 90


@table_asset(checks.REGIME_SIGNALS, group=GROUP, kinds=KINDS, config=RegimeConfig, deps=[ROLLING_BETAS])
def regime_signals_asset(run: TableRun) -> TableOutput:
    """Per coin, from all stored rolling betas: beta stability (CV = sd / |mean| of the rolling market
    beta), R² decay (mean R² of the last `recent_days` minus the long-run mean) and regime shifts:
    z_t = (b_t - b_{t-h}) / sqrt(se_t² + se_{t-h}²), h = `horizon_days` (>= the window: independent
    windows, a Chow-type test); |z| > `z_threshold` flags a shift, a run of flagged days is one event
    dated by its first day (`shift_dates`). Numerics: `factors.research.regime_signals`.
    """
    config = run.config
    betas = _stored(run, ROLLING_BETAS, "select_rolling_betas_for_regimes", "date")
    out = compute_regime_signals(betas, config.horizon_days, config.z_threshold, config.recent_days)
    shown = (out[["symbol", "beta_mkt_mean", "beta_cv", "r2_longrun", "r2_recent", "r2_decay", "n_shifts",
                  "last_shift_date"]] if len(out) else pd.DataFrame())
    return TableOutput({REGIME_SIGNALS: out}, empty_reason=(
        "needs rolling betas; rolling_betas holds none (a rolling beta needs "
        f">= {ROLLING_MIN_OBS} daily observations per coin)"), metadata={
        "coins_with_shifts": int((out["n_shifts"] > 0).sum()) if len(out) else 0,
        "signals": table_md(shown),
        "parameters": md(config_text(config, "horizon_days", "z_threshold", "recent_days")),
    })


class LtwReplicationConfig(dg.Config):
    breakpoint_universe: str = "all"
    cmom_construction: str = "double_sort"
    investable_top_n: int = 100
    n_quantiles: int = 5
    vol_column: str = "avg_volume"
    winsor_lower: float = 0.01
    winsor_upper: float = 0.99
    # weekly returns and eligibility as weekly_panel's `return_rule`: last_price (LTW) | complete_week
    return_rule: str = DEFAULT_RETURN_RULE
    # ltw_long_short_alphas: Newey-West lag rule (4t100 | t14 | nw1994 | an integer) and minimum weeks per fit
    lag_rule: str = "4t100"
    alphas_min_weeks: int = 8


#: The whole stored daily_panel: every date between these bounds.
ALL_DAYS = {"start": dt.date(1970, 1, 1), "end": dt.date(2200, 1, 1)}


@table_asset(checks.LTW_REPLICATION_WITH_ALPHAS, group=GROUP, kinds=KINDS, config=LtwReplicationConfig,
             required_resource_keys={RISK_FREE}, deps=[DAILY_PANEL])
def ltw_replication_asset(run: TableRun) -> TableOutput:
    """LTW (2022) replication over the WHOLE stored daily_panel on LTW's calendar (52 weeks a year,
    week 1 = Jan 1-7, week 52 = 8 or 9 days), with the same functions as the partitioned assets:
    `aggregate_weekly(calendar="ltw", return_rule=...)`, `weekly_characteristics`,
    `characteristic_portfolios`, `factor_returns`. Long format: factors CMKT / CSMB / CMOM and every
    characteristic's Q1..Q5 and LS (EW and VW) per holding LTW week; the choices (return rule, breakpoint
    universe and investable top N, CMOM construction, quantiles, VOL column, rf source) stored on every row.
    `return_rule` = `last_price` (default, LTW: last available close of the week over the previous week's,
    eligible on the last available day) or `complete_week` (all days of the week needed), as weekly_panel.

    Companion table `ltw_long_short_alphas` (LTW Table VIII on the LTW calendar): per long-short and
    weighting, mean with Newey-West t, CAPM alpha on CMKT and 3-factor alpha on CMKT, CSMB, CMOM of this
    replication (`analytics.performance.factor_regression`, HAC t; lag rule configurable, the lags of
    each fit stored). Compare with LTW's published 2014-2020 figures (CMKT 1.330 % / 11.23 %, CSMB
    2.308 % / 14.12 %, CMOM 2.231 % / 13.37 % weekly mean / SD) with care: the universes differ.
    """
    config = run.config
    rule = check_return_rule(config.return_rule)
    lag_rule = parse_lag_rule(config.lag_rule)
    ensure_table(run.con, DAILY_PANEL)  # a summary run on a fresh file: none yet
    daily = read_sql_frame(run.con, load_sql("select_daily_panel_window"), ALL_DAYS, ["date"])
    if daily.empty:  # nothing stored yet (e.g. a source without data in the range): empty tables
        return TableOutput({LTW_REPLICATION: pd.DataFrame(), LTW_LONG_SHORT_ALPHAS: pd.DataFrame()},
                           empty_reason="daily_panel holds no rows")
    week_starts = pd.DatetimeIndex(np.unique(ltw_week_start(daily["date"].to_numpy())))
    rf, rf_source, rf_note = run.context.resources.risk_free.series(week_starts, "weekly")
    out = compute_ltw_replication(daily, config.breakpoint_universe, config.cmom_construction,
                                  config.investable_top_n, config.n_quantiles, config.vol_column,
                                  (config.winsor_lower, config.winsor_upper), rf, rf_source, return_rule=rule)
    alphas = compute_ltw_long_short_alphas(out, lag_rule, config.alphas_min_weeks)
    summary = ltw_summary(out)
    fac = out.loc[out["series"] == "factor"].pivot_table(index="week_start", columns="name", values="ret")
    eligible = ("market cap >= $1M and volume on the week's last available day" if rule == "last_price"
                else "market cap >= $1M, complete week")
    shown = (alphas.assign(mean_pct=100 * alphas["mean"], capm_alpha_pct=100 * alphas["capm_alpha"],
                           f3_alpha_pct=100 * alphas["f3_alpha"])[
        ["characteristic", "weighting", "n_weeks", "mean_pct", "mean_t_nw", "capm_alpha_pct", "capm_alpha_t",
         "f3_alpha_pct", "f3_alpha_t", "f3_weeks", "f3_nw_lags"]] if len(alphas) else pd.DataFrame())
    return TableOutput({LTW_REPLICATION: out, LTW_LONG_SHORT_ALPHAS: alphas}, empty_reason=lambda: (
        f"needs coins eligible in an LTW week before a holding week ({eligible}); "
        f"daily_panel holds {daily['date'].nunique()} days ({daily['date'].min().date()} .. "
        f"{daily['date'].max().date()}) in {len(week_starts)} LTW weeks"), metadata={
        "weeks": int(out["week_start"].nunique()),
        "risk_free": rf_note + " (LTW week 52 is 8-9 days; the weekly rate assumes 7)",
        "parameters": md("calendar=ltw, " + config_text(config, "return_rule", "breakpoint_universe",
                                                         "investable_top_n", "cmom_construction", "n_quantiles",
                                                         "vol_column", "lag_rule")),
        "summary": table_md(summary),
        "long_short_alphas": table_md(shown),
        "cumulative_factors": cumulative_plot(fac[[c for c in WEEKLY_FACTORS if c in fac.columns]],
                                              "LTW-calendar CMKT, CSMB, CMOM (cumulative)"),
    })
