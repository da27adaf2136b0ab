"""Out-of-sample validation of the factor risk model against sample-covariance and EWMA baselines
(config and spec; the numerics are in ``prediction.risk_validation``)."""

import dagster as dg
import pandas as pd

from cryptofactor_assets.analytics.plots import line_plot_png, png_markdown
from cryptofactor_assets.common import md
from cryptofactor_assets.factors.tables import FACTOR_RETURNS_DAILY
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.panels.tables import DAILY_PANEL
from cryptofactor_assets.prediction import checks
from cryptofactor_assets.prediction import risk_validation as rv
from cryptofactor_assets.prediction.tables import (
    FACTOR_RISK_MODEL,
    RISK_MODEL_VALIDATION,
    RISK_MODEL_VALIDATION_PORTFOLIOS,
    RISK_MODEL_VALIDATION_SUMMARY,
)
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import ensure_table, frame_markdown, load_sql, table_exists

GROUP = "prediction"
_DEFAULTS = rv.ValidationConfig()


class RiskValidationConfig(dg.Config):
    window_days: int = _DEFAULTS.window_days  # calendar days of the estimation window (the rolling betas')
    min_window_days: int = _DEFAULTS.min_window_days  # factor days a window needs
    ddof: int = _DEFAULTS.ddof
    ewma_lambda: float = _DEFAULTS.ewma_lambda  # RiskMetrics decay, daily returns
    momentum_days: int = _DEFAULTS.momentum_days  # look-back of the momentum long-short's signal
    leg_share: float = _DEFAULTS.leg_share  # share of the coins in each leg of the long-shorts
    n_random: int = _DEFAULTS.n_random  # fixed random portfolios of each kind (long-only, dollar-neutral)
    seed: int = _DEFAULTS.seed
    min_coin_weeks: int = _DEFAULTS.min_coin_weeks  # weeks a coin needs for its own bias statistic
    rolling_weeks: int = 26  # window of the plotted rolling bias statistic
    factors: list[str] = list(_DEFAULTS.factors)  # the factor model's daily factors (the rolling betas' list)


def _read_inputs(con) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(daily excess returns and market caps, daily factors, the stored factor_risk_model or None)."""
    for table in (DAILY_PANEL, FACTOR_RETURNS_DAILY):
        ensure_table(con, table)
    daily = read_sql_frame(con, load_sql("select_risk_model_validation_daily"), None, ["date"])
    factors = read_sql_frame(con, load_sql("select_risk_model_validation_factors"), None, ["date"])
    stored = None
    if table_exists(con, FACTOR_RISK_MODEL):
        stored = read_sql_frame(con, load_sql("select_risk_model_validation_stored_model"), None, ["week_start"])
    return daily, factors, stored


@table_asset(checks.RISK_MODEL_VALIDATION, group=GROUP, config=RiskValidationConfig,
             deps=[DAILY_PANEL, FACTOR_RETURNS_DAILY, FACTOR_RISK_MODEL])
def risk_model_validation(run: TableRun) -> TableOutput:
    """Out-of-sample validation of the factor risk model (`prediction.risk_validation`): for every week t,
    covariances forecast from the daily data of the window ending the day before t (the factor model
    B Omega_f B' + D as `factor_risk_model` builds it, on the rolling betas' daily factors, `factors`:
    MKT, SIZE, MOM and VOL, FUND, CHAIN where their inputs exist; the sample covariance; its Ledoit-Wolf shrinkage;
    RiskMetrics EWMA, lambda 0.94 on daily returns), x 7 for the week, scored on week t's realised
    excess returns: Barra's bias statistic sd(r / sigma) of equal-weight, size and momentum long-short,
    fixed random long-only and dollar-neutral, and each method's minimum-variance portfolios (Engle &
    Colacito 2006) with the band 1 +- sqrt(2/T); the Gaussian log-likelihood and r' Sigma^-1 r / n of
    the week's return vector; per-coin QLIKE and r^2 - sigma^2; the cross-sectional R² of week t's
    returns on the betas known at t-1. Tables: `risk_model_validation` (week x method),
    `risk_model_validation_portfolios` (week x method x portfolio), `risk_model_validation_summary`.
    """
    c = run.config
    config = rv.ValidationConfig(window_days=c.window_days, min_window_days=c.min_window_days, ddof=c.ddof,
                                 ewma_lambda=c.ewma_lambda, momentum_days=c.momentum_days, leg_share=c.leg_share,
                                 n_random=c.n_random, seed=c.seed, min_coin_weeks=c.min_coin_weeks,
                                 factors=tuple(c.factors))
    daily, factors, stored = _read_inputs(run.con)
    try:
        result, weeks, portfolios, summary = rv.compute_risk_validation(daily, factors, stored, config)
    except ValueError as exc:
        raise dg.Failure(str(exc)) from None
    notes = [] if stored is not None else ["factor_risk_model absent: the factor forecasts are not compared with it"]
    meta = {"parameters": md(f"window_days={c.window_days}, min_window_days={c.min_window_days}, ddof={c.ddof}, "
                             f"horizon_days={config.horizon_days}, ewma_lambda={c.ewma_lambda} (daily), "
                             f"n_random={c.n_random}, seed={c.seed}, leg_share={c.leg_share}, "
                             f"momentum_days={c.momentum_days}, factors={list(c.factors)} (each week: those the "
                             "origin week's rolling betas use)")}
    if len(weeks):
        meta["summary"] = md(frame_markdown(rv.summary_table(summary).round(4)))
        by_type = summary[(summary["scope"] != "cross_section") & summary["statistic"].isin(["bias_stat", "in_band_share", "exceed_rate", "qlike",
                                                     "predicted_vol", "realised_vol"])]
        meta["by_portfolio_type"] = md(frame_markdown(by_type.pivot_table(
            index=["scope", "method"], columns="statistic", values="value").round(4).reset_index()))
        rolling = rv.rolling_bias(portfolios, "min_variance", c.rolling_weeks)
        if len(rolling.dropna(how="all")):
            band = (2.0 / c.rolling_weeks) ** 0.5
            plot = rolling.dropna(how="all").assign(**{"1 + band": 1 + band, "1 - band": 1 - band})
            meta["rolling_bias_min_variance"] = md(png_markdown(line_plot_png(
                plot, f"Rolling {c.rolling_weeks}-week bias statistic of the minimum-variance portfolio "
                      "(1 = calibrated)", "sd(r / sigma)", log_y=True), "rolling bias"))
        compared = weeks["max_abs_beta_diff_stored"].notna().sum() if "max_abs_beta_diff_stored" in weeks else 0
        notes.append(f"{weeks['week_start'].nunique()} weeks scored, {compared} compared with factor_risk_model")
    meta["notes"] = md("\n".join(f"- {n}" for n in notes))
    return TableOutput({RISK_MODEL_VALIDATION: weeks, RISK_MODEL_VALIDATION_PORTFOLIOS: portfolios,
                        RISK_MODEL_VALIDATION_SUMMARY: summary}, metadata=meta, empty_reason=(
        f"needs daily_panel returns and factor_returns_daily with >= {c.min_window_days} factor days in a "
        f"{c.window_days}-day window before a whole week of returns ({len(daily)} daily returns read)"))
