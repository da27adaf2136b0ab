"""Whole-history factor tables as pure table functions (frames in, frames out; no Dagster):
long-short alphas, regime signals of the rolling betas and the LTW-calendar replication."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.ltw_calendar import aggregate_weekly
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
    return window_summary(wide, order)
