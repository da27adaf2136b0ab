"""Whole-history factor tables as pure table functions (frames in, frames out; no Dagster):
long-short alphas, regime signals of the rolling betas and the LTW-calendar replication."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.analytics.backtest import backtest_report
from cryptofactor_assets.analytics.performance import factor_regression
from cryptofactor_assets.estimators.ltw_calendar import DEFAULT_RETURN_RULE, aggregate_weekly
from cryptofactor_assets.factors import research
from cryptofactor_assets.factors.characteristics import weekly_characteristics
from cryptofactor_assets.factors.compute_daily import ROLLING_WINDOW_DAYS
from cryptofactor_assets.factors.compute_weekly import WEEKLY_FACTORS
from cryptofactor_assets.factors.construction import factor_returns
from cryptofactor_assets.factors.sorts import characteristic_portfolios as sort_portfolios
from cryptofactor_assets.factors.summaries import window_summary


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


def compute_regime_signals(betas: pd.DataFrame, horizon_days: int = ROLLING_WINDOW_DAYS, z_threshold: float = 3.0,
                           recent_days: int = 90) -> pd.DataFrame:
    """Per-coin regime signals of the stored rolling betas (:func:`research.regime_signals`), with the
    window and min_obs the betas were estimated with (the most frequent stored values)."""
    out = research.regime_signals(betas, horizon=horizon_days, z_threshold=z_threshold, recent_days=recent_days)
    if len(out):
        out["window_days"] = int(betas["window_days"].mode().iloc[0])
        out["min_obs"] = int(betas["min_obs"].mode().iloc[0])
    return out


def compute_ltw_replication(daily: pd.DataFrame, breakpoint_universe: str = "all",
                            cmom_construction: str = "double_sort", investable_top_n: int = 100,
                            n_quantiles: int = 5, vol_column: str = "avg_volume",
                            winsor: tuple[float, float] | None = (0.01, 0.99), rf=0.0,
                            rf_source: str = "default", return_rule: str = DEFAULT_RETURN_RULE) -> pd.DataFrame:
    """Whole-history LTW-calendar weekly panel (weekly returns and eligibility by ``return_rule``, as
    ``weekly_panel``) -> characteristics -> portfolios and factors (long); the choices on every row."""
    weekly = aggregate_weekly(daily, calendar="ltw", return_rule=return_rule)
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
                      n_quantiles=n_quantiles, rf_source=rf_source, return_rule=return_rule,
                      investable_top_n=np.int64(investable_top_n), vol_column=vol_column)[list(LTW_REPLICATION_COLUMNS)]


#: Columns of ``ltw_replication`` (sql/factors/create_ltw_replication.sql), in table order.
LTW_REPLICATION_COLUMNS: tuple[str, ...] = (
    "series", "name", "portfolio", "weighting", "week_start", "formation_week", "ret", "n_coins", "calendar",
    "breakpoint_universe", "cmom_construction", "n_quantiles", "rf_source", "return_rule", "investable_top_n",
    "vol_column")
#: The replication's run choices, copied from its rows onto every ``ltw_long_short_alphas`` row.
LTW_CHOICE_COLUMNS: tuple[str, ...] = (
    "calendar", "return_rule", "breakpoint_universe", "investable_top_n", "cmom_construction", "n_quantiles",
    "vol_column", "rf_source")


def compute_ltw_long_short_alphas(rep: pd.DataFrame, lag_rule="4t100", min_weeks: int = 8,
                                  periods_per_year: float = 52.0) -> pd.DataFrame:
    """LTW (2022) Table VIII statistics of every long-short (``portfolio == "LS"``, EW and VW) of an
    ``ltw_replication`` frame, on its own LTW weeks: mean with Newey-West t
    (:func:`~cryptofactor_assets.analytics.backtest.backtest_report`), CAPM alpha on CMKT and 3-factor alpha
    on CMKT, CSMB, CMOM of the same replication
    (:func:`~cryptofactor_assets.analytics.performance.factor_regression`: OLS over the weeks where the
    long-short and the factors all exist, Bartlett HAC in statsmodels' ``cov_type="HAC"`` conventions).
    ``lag_rule`` is applied to each fit's own number of weeks; the lags used are stored per fit
    (``mean_nw_lags``, ``capm_nw_lags``, ``f3_nw_lags``). A regression with fewer than ``min_weeks``
    common weeks is left NULL (its week count kept); a long-short with fewer than ``min_weeks`` weeks
    has no row. The replication's choices (``LTW_CHOICE_COLUMNS``) are copied onto every row."""
    if rep.empty:
        return pd.DataFrame()
    fac = rep.loc[rep["series"] == "factor"].pivot(index="week_start", columns="name", values="ret")
    fac = fac.reindex(columns=list(WEEKLY_FACTORS))
    choices = {c: rep[c].iloc[0] for c in LTW_CHOICE_COLUMNS}
    ls = rep.loc[(rep["series"] == "portfolio") & (rep["portfolio"] == "LS")]
    rows = []
    for (char, weighting), g in ls.groupby(["name", "weighting"], sort=True):
        r = g.set_index("week_start")["ret"].astype(float).dropna().sort_index()
        if len(r) < min_weeks:
            continue
        rep_stats = backtest_report(r, periods_per_year=periods_per_year, nw_lags=lag_rule)
        row = {"characteristic": char, "weighting": weighting, "n_weeks": int(len(r)), "mean": rep_stats.mean,
               "mean_t_nw": rep_stats.mean_t_nw, "mean_nw_lags": int(rep_stats.nw_lags)}
        for prefix, cols in (("capm", ["cmkt"]), ("f3", list(WEEKLY_FACTORS))):
            common = int(pd.concat([r, fac[cols]], axis=1, join="inner").dropna().shape[0])
            row[f"{prefix}_weeks"] = common
            fit = (factor_regression(r, fac[cols], periods_per_year, nw_lags=lag_rule) if common >= min_weeks
                   else None)
            row[f"{prefix}_alpha"] = np.nan if fit is None else fit.alpha
            row[f"{prefix}_alpha_t"] = np.nan if fit is None else fit.alpha_t_nw
            row[f"{prefix}_r2"] = np.nan if fit is None else fit.r2
            row[f"{prefix}_nw_lags"] = pd.NA if fit is None else int(fit.nw_lags)
            if prefix == "capm":
                row["capm_beta"] = np.nan if fit is None else fit.betas["cmkt"]
            else:
                for name in cols:
                    row[f"f3_beta_{name}"] = np.nan if fit is None else fit.betas[name]
        rows.append({**row, "ann_return": rep_stats.ann_return, "ann_vol": rep_stats.ann_vol,
                     "sharpe": rep_stats.sharpe, "max_drawdown": rep_stats.max_drawdown, "lag_rule": str(lag_rule),
                     **choices, "first_week": r.index.min(), "last_week": r.index.max()})
    out = pd.DataFrame(rows)
    for c in ("capm_nw_lags", "f3_nw_lags"):
        if c in out:
            out[c] = out[c].astype("Int64")
    return out


def ltw_summary(rep: pd.DataFrame) -> pd.DataFrame:
    """Weekly mean, SD (in %) and t of the three factors and of every VW / EW Q5 - Q1."""
    keep = (rep["series"] == "factor") | (rep["portfolio"] == "LS")
    sel = rep.loc[keep].assign(label=lambda d: np.where(d["series"] == "factor", d["name"],
                                                        d["name"] + " LS " + d["weighting"].str.upper()))
    wide = sel.pivot_table(index="week_start", columns="label", values="ret")
    order = [c for c in WEEKLY_FACTORS if c in wide.columns] + sorted(c for c in wide.columns
                                                                     if c not in WEEKLY_FACTORS)
    return window_summary(wide, order)
