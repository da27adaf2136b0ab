"""The chapter's headline metrics from the stored tables (no Dagster): factor R², alphas, beta
stability, IC of the walk-forward forecasts, Lasso sparsity and factor Sharpe ratios. A missing
input table is skipped with a note. Statements are in ``sql/prediction/select_dashboard_*.sql``.

The alpha of the coins is summarised by ``t_mean_alpha``, the t-statistic of the cross-sectional
mean of the coins' weekly alphas stored by ``factor_model_ts_fit`` (``prediction.diagnostics``):
its standard error is the Newey-West long-run sum of each week's influence on the mean alpha, so
the coins' correlated estimation errors (common shocks) count, and on a balanced panel it is the
Newey-West t of the equal-weighted portfolio's alpha.  It replaces the mean of the coins' t-statistics
(which estimates nothing).  The naive cross-sectional t, mean / (sd / sqrt(N)), is shown in the detail
for comparison: it treats the N alphas as independent draws.

The chapter's factors (issue 16) get their rows too: the annualised Sharpe ratio of every weekly factor
(CMKT, CSMB, CMOM, CVOL, CFUND, CCHAIN; a factor without data, e.g. CFUND on spot data, is skipped
with a note), per new factor its spanning regression on CMKT, CSMB, CMOM (section
``factor_spanning``): the R² (how much of it the LTW factors already explain), the annualised
alpha and its Newey-West t (a premium the LTW factors do not price), and per factor of the rolling
regressions the mean |t| of its beta (section ``factor_r2``, beside their mean R²)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators.hac import ols_hac
from cryptofactor_assets.factors import research
from cryptofactor_assets.factors.compute_weekly import ALL_WEEKLY_FACTORS, WEEKLY_SIGNAL_FACTORS
from cryptofactor_assets.factors.tables import (
    FACTOR_RETURNS_WEEKLY,
    LONG_SHORT_ALPHAS,
    REGIME_SIGNALS,
    ROLLING_BETAS,
)
from cryptofactor_assets.prediction.compute import WEEKLY_FACTORS
from cryptofactor_assets.prediction.tables import FM_CS_R2, FM_TS_FIT, MODEL_COMPARISON, PREDICTION_SELECTED
from cryptofactor_assets.storage.warehouse import load_sql, table_exists


def mean_alpha_t(ts: pd.DataFrame) -> tuple[float, str]:
    """The stored t of the cross-sectional mean alpha (module docstring) and its detail text, from the
    fitted coins' rows of factor_model_ts_fit; NaN when the table predates the column."""
    alphas = ts["alpha"].dropna()
    n = len(alphas)
    naive = alphas.mean() / (alphas.std(ddof=1) / np.sqrt(n)) if n > 1 and alphas.std(ddof=1) > 0 else np.nan
    stored = ts["mean_alpha_t"].dropna() if "mean_alpha_t" in ts else pd.Series(dtype=float)
    if stored.empty:
        return np.nan, f"not stored; cross-sectional t (mean / (sd / sqrt(N)), N = {n}) = {naive:.2f}"
    lags = ts["mean_alpha_lags"].dropna()
    lag_text = f"{int(lags.iloc[0])} lags" if len(lags) else "lags n/a"
    return float(stored.iloc[0]), (
        f"mean of {n} coins' weekly alphas / its Driscoll-Kraay-type Newey-West se ({lag_text}; = NW t of the "
        f"EW portfolio's alpha on a balanced panel); cross-sectional t (mean / (sd / sqrt(N))) = {naive:.2f}")


def compute_dashboard(con, construction: str, prediction_scheme: str) -> tuple[pd.DataFrame, list[str]]:
    """(section, metric, value, detail) rows of the headline metrics and the notes on skipped inputs."""
    rows, notes = [], []

    def add(section, metric, value, detail=""):
        rows.append({"section": section, "metric": metric, "value": float(value) if value is not None else np.nan,
                     "detail": detail})

    def frame(name: str, params=None) -> pd.DataFrame:
        return con.execute(load_sql(name), params or {}).df()

    def scalar(name: str, params=None):
        return con.execute(load_sql(name), params or {}).fetchone()

    if table_exists(con, FM_TS_FIT):
        ts = frame("select_dashboard_ts_fit")
        if len(ts):
            add("factor_r2", "mean_time_series_r2", ts["r2"].mean(), f"{len(ts)} coins, weekly CMKT/CSMB/CMOM")
            add("factor_r2", "median_time_series_r2", ts["r2"].median())
            add("alpha", "mean_alpha_annualised", ts["alpha_annualised"].mean(), "52 x weekly intercept")
            value, detail = mean_alpha_t(ts)
            if np.isnan(value):
                notes.append("factor_model_ts_fit has no mean-alpha t (stored before it existed): "
                             "materialise factor_model_diagnostics")
            add("alpha", "t_mean_alpha", value, detail)
            kind = ts["se_type"].dropna().iloc[0] if "se_type" in ts and ts["se_type"].notna().any() else "classical"
            add("alpha", "share_alpha_t_gt_1.96", (ts["t_alpha"].abs() > 1.96).mean(), f"per-coin t, {kind} se")
    else:
        notes.append("factor_model_ts_fit absent (materialise factor_model_diagnostics)")
    if table_exists(con, FM_CS_R2):
        add("factor_r2", "mean_cross_sectional_r2", scalar("select_dashboard_mean_cs_r2")[0])
    if table_exists(con, ROLLING_BETAS):
        add("factor_r2", "mean_rolling_daily_r2", scalar("select_dashboard_mean_rolling_r2")[0],
            "rolling daily regressions")
    if table_exists(con, LONG_SHORT_ALPHAS):
        for _, r in frame("select_dashboard_long_short_vw").iterrows():
            add("alpha", f"ls_{r['characteristic']}_vw_f3_alpha_annualised", 52 * r["f3_alpha"],
                f"t = {r['f3_alpha_t']:.2f} (Newey-West), {int(r['n_weeks'])} weeks")
    else:
        notes.append("long_short_alphas absent")
    if table_exists(con, REGIME_SIGNALS):
        rs = frame("select_dashboard_regime_signals")
        if len(rs):
            add("beta_stability", "median_beta_cv", rs["beta_cv"].median(), "sd / |mean| of the rolling market beta")
            add("beta_stability", "share_coins_with_shift", (rs["n_shifts"] > 0).mean(), "|z| > threshold")
            add("beta_stability", "mean_r2_decay", rs["r2_decay"].mean(), "recent minus long-run rolling R²")
    else:
        notes.append("regime_signals absent")
    scheme = {"scheme": prediction_scheme}
    if table_exists(con, MODEL_COMPARISON):
        mc = frame("select_dashboard_model_comparison", scheme)
        for _, r in mc.iterrows():
            add("ic", f"{r['model']}_ic_mean", r["ic_mean"], f"t = {r['ic_t']:.2f}, Spearman, {prediction_scheme}")
        lasso = mc[mc["model"] == "lasso"]
        if len(lasso):
            add("lasso", "lasso_sparsity", lasso["sparsity"].iloc[0], "share of zero coefficients across folds")
    else:
        notes.append("model_comparison absent")
    if table_exists(con, PREDICTION_SELECTED):
        sel = scalar("count_dashboard_selected_features", scheme)
        add("lasso", "lasso_selected_last_window", sel[0], f"of {sel[1]} features")
    if table_exists(con, ROLLING_BETAS):
        for _, r in frame("select_dashboard_rolling_beta_t").iterrows():
            add("factor_r2", f"mean_abs_t_{r['beta']}", r["mean_abs_t"],
                f"mean |beta / se| in the rolling daily regressions, {int(r['n'])} coin-days")
    if table_exists(con, FACTOR_RETURNS_WEEKLY):
        f = research.read_weekly_factors(con, construction)
        for c in ALL_WEEKLY_FACTORS:
            x = f[c].dropna() if c in f else pd.Series(dtype=float)
            if len(x) > 2 and x.std() > 0:
                add("factor_sharpe", f"{c}_sharpe_annualised", np.sqrt(52) * x.mean() / x.std(ddof=1),
                    f"mean {52 * x.mean():.3f} / yr, {len(x)} weeks, {construction}")
            elif c in WEEKLY_SIGNAL_FACTORS:
                notes.append(f"{c}: no stored weeks (its input is absent: no funding / on-chain data)")
        for c in WEEKLY_SIGNAL_FACTORS:
            sub = f.reindex(columns=[c, *WEEKLY_FACTORS]).dropna()
            if len(sub) <= len(WEEKLY_FACTORS) + 4:
                continue
            fit = ols_hac(sub[c].to_numpy(), sub[list(WEEKLY_FACTORS)].to_numpy(), "4t100", add_constant=True)
            add("factor_spanning", f"{c}_r2_on_ltw", fit.r2, f"R² of {c} on CMKT, CSMB, CMOM, {fit.nobs} weeks")
            add("factor_spanning", f"{c}_alpha_annualised", 52 * fit.params[0],
                f"t = {fit.tvalues[0]:.2f} (Newey-West, {fit.lags} lags): intercept of {c} on CMKT, CSMB, CMOM")
    return pd.DataFrame(rows, columns=["section", "metric", "value", "detail"]), notes
