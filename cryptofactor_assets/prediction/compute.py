"""The prediction domain's pure table functions (frames in, frames out; no Dagster): the feature
matrix, the walk-forward tables, the factor risk model, the PCA factors and the factor-model
diagnostics. The asset shells (``assets_weekly.py``, ``assets_summary.py``) read the inputs, call these
and store what they return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptofactor_assets.estimators import panels
from cryptofactor_assets.factors.compute_daily import FACTOR_NAMES as LTW_DAILY_FACTORS
from cryptofactor_assets.factors.summaries import parse_lag_rule
from cryptofactor_assets.prediction import diagnostics as dgn
from cryptofactor_assets.prediction.features import ALL_FEATURES, build_feature_matrix, usable_features
from cryptofactor_assets.prediction.monte_carlo import monte_carlo_study
from cryptofactor_assets.prediction.pca import factor_correlations, pca_factors
from cryptofactor_assets.prediction.risk_model import (
    check_reproduction,
    factor_risk_model,
    trailing_factor_cov,
)
from cryptofactor_assets.prediction.tables import (
    DIAGNOSTICS_TABLES,
    FACTOR_MODEL_DIAGNOSTICS,
    FM_CS_R2,
    FM_LOADINGS,
    FM_MONTE_CARLO,
    FM_PREDICTION_REGIMES,
    FM_REGIMES,
    FM_RESIDUAL_TESTS,
    FM_ROLLING,
    FM_TS_FIT,
    MODEL_COMPARISON,
    PREDICTION_CALIBRATION,
    PREDICTION_COEFFICIENTS,
    PREDICTION_FOLDS,
    PREDICTION_FORECASTS,
    PREDICTION_LASSO_PATH,
    PREDICTION_SELECTED,
    PREDICTION_STABILITY,
    PREDICTION_WALK_FORWARD,
    WALK_FORWARD_TABLES,
)
from cryptofactor_assets.prediction.walk_forward import WalkForwardConfig, walk_forward

WEEKLY_FACTORS = ("cmkt", "csmb", "cmom")
DAILY_FACTORS = ("mkt", "size", "mom")
#: Weeks of history before the earliest row the feature matrix computes (4-week volatility, volume growth).
FEATURE_LOOKBACK_WEEKS = 4
#: Default of the feature matrix's ``min_rsj_days``: days with a defined RSJ a week needs for the RSJ features.
MIN_RSJ_DAYS = 4


# --------------------------------------------------------------------------------------------
# 1. Feature matrix
# --------------------------------------------------------------------------------------------
def compute_feature_matrix(chars: pd.DataFrame, betas: pd.DataFrame, daily_agg: pd.DataFrame,
                           weekly: pd.DataFrame, rf_next, rsj_agg: pd.DataFrame | None,
                           min_rsj_days: int = MIN_RSJ_DAYS) -> pd.DataFrame:
    """Feature rows (``features.build_feature_matrix``) with their provenance columns: the rolling
    betas' window (the stored ``window_days`` of the betas read, most common value), the RSJ source
    (``rsj_daily`` or ``absent``) and ``min_rsj_days``."""
    frame = build_feature_matrix(chars, betas, daily_agg, weekly, rf_next, rsj_agg, min_rsj_days)
    window_days = int(betas["window_days"].mode().iloc[0]) if len(betas) else None
    return frame.assign(beta_window_days=window_days, rsj_source="rsj_daily" if rsj_agg is not None else "absent",
                        min_rsj_days=min_rsj_days)


def feature_coverage(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(share of eligible rows defining each feature, describe() of the features on eligible rows)."""
    feats = list(ALL_FEATURES)
    elig = frame[frame["in_universe"]]
    coverage = pd.DataFrame({"feature": feats, "coverage": [float(elig[c].notna().mean()) if len(elig) else np.nan
                                                            for c in feats]})
    summary = (elig[feats].describe().T.reset_index()[["index", "mean", "std", "min", "max"]] if len(elig)
               else pd.DataFrame())
    return coverage, summary


# --------------------------------------------------------------------------------------------
# 2. Walk-forward prediction
# --------------------------------------------------------------------------------------------
#: Per fold calibration figures of the walk-forward kept in memory (``ModelRun.fold_metrics``) but not
#: stored: ``prediction_folds`` has no columns for them.
UNSTORED_FOLD_COLUMNS = ("brier_calibrated", "log_loss", "log_loss_calibrated", "n_calibration_splits")


def walk_forward_config(config, scheme: str) -> WalkForwardConfig:
    """The ``WalkForwardConfig`` of one scheme from the asset's run config (any object with its fields)."""
    return WalkForwardConfig(
        scheme=scheme, min_train_periods=config.min_train_periods, window_periods=config.window_periods,
        embargo=config.embargo, test_periods=config.test_periods, n_inner_splits=config.n_inner_splits,
        ridge_lambdas=tuple(config.ridge_lambdas), enet_l1_ratio=config.enet_l1_ratio, n_alphas=config.n_alphas,
        logit_lambdas=tuple(config.logit_lambdas), max_folds=config.max_folds or None,
        calibration_method=config.calibration_method, calibration_bins=config.calibration_bins)


def prediction_sample(fm: pd.DataFrame, config) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Rows and features the walk-forward uses: eligible rows (optional) and features defined on at least
    ``min_feature_coverage`` of the rows with a target (unless listed explicitly)."""
    rows = fm[fm["in_universe"].astype(bool)] if config.universe_only else fm
    if config.features:
        return rows, list(config.features), []
    keep, drop = usable_features(rows, ALL_FEATURES, config.min_feature_coverage)
    return rows, keep, drop


def compute_walk_forward(fm: pd.DataFrame, config, log=None
                         ) -> tuple[dict[str, pd.DataFrame], list]:
    """Every scheme's walk-forward as the stored tables (dict by table name) and notes; progress lines
    (refits done / total per scheme, ``cryptofactor_assets.progress``) go to ``log``."""
    from cryptofactor_assets.progress import Progress

    rows, feats, dropped = prediction_sample(fm, config)
    notes = [f"features dropped for coverage < {config.min_feature_coverage}: {dropped}"] if dropped else []
    if not feats or rows["y_next"].notna().sum() == 0:
        notes.append("no usable features or no rows with a target: nothing to fit")
        return {t: pd.DataFrame() for t in WALK_FORWARD_TABLES}, notes
    tables: dict[str, list[pd.DataFrame]] = {t: [] for t in WALK_FORWARD_TABLES}
    models = list(config.models)
    n_conv = 0
    for scheme in config.schemes:
        wcfg = walk_forward_config(config, scheme)
        progress = Progress(f"{PREDICTION_WALK_FORWARD} {scheme}", unit="refits", log=log)
        try:
            res = walk_forward(rows, feats, wcfg, models, progress=progress)
        except ValueError as exc:  # too short a history for this scheme
            notes.append(f"{scheme}: {exc}")
            continue
        progress.finish(f"{len(res.folds)} windows x {len(models)} models")
        n_conv += res.convergence_warnings
        params = {"scheme": scheme, "embargo": wcfg.embargo, "test_periods": wcfg.test_periods,
                  "train_periods": wcfg.min_train_periods if scheme == "expanding" else wcfg.window_periods,
                  "n_inner_splits": wcfg.n_inner_splits}
        ft = res.fold_table
        last = ft.iloc[-1]
        for name, run in res.runs.items():
            s = vars(run.summary)
            kind = "direction" if name.startswith("logit") else "return"
            tables[PREDICTION_WALK_FORWARD].append(pd.DataFrame([{
                **params, **s, "target": kind, "n_features": len(feats), "features": ",".join(feats),
                "first_test_week": ft["test_start"].min(), "last_test_week": ft["test_end"].max(),
                "ridge_lambdas": ",".join(f"{v:g}" for v in wcfg.ridge_lambdas),
                "logit_lambdas": ",".join(f"{v:g}" for v in wcfg.logit_lambdas),
                "enet_l1_ratio": wcfg.enet_l1_ratio, "n_alphas": wcfg.n_alphas,
                "calibration_method": wcfg.calibration_method, "calibration_bins": wcfg.calibration_bins}]))
            tables[MODEL_COMPARISON].append(pd.DataFrame([{
                "scheme": scheme, "model": name, "target": kind, "is_r2": s["is_r2"], "oos_r2_zero": s["oos_r2_zero"],
                "oos_r2_mean": s["oos_r2_mean"], "direction_accuracy": s["direction_accuracy"], "brier": s["brier"],
                "brier_calibrated": s["brier_calibrated"], "log_loss": s["log_loss"],
                "log_loss_calibrated": s["log_loss_calibrated"], "sparsity": s["sparsity"],
                "stability": s["sign_consistency"], "ic_mean": s["ic_mean"], "ic_t": s["ic_t"],
                "n_folds": s["n_folds"], "n_test": s["n_test"]}]))
            folds = ft.merge(run.fold_metrics.drop(columns=list(UNSTORED_FOLD_COLUMNS)), on="fold").assign(
                model=name, **params)
            tables[PREDICTION_FOLDS].append(folds)
            coef = run.coefs.reset_index().melt(id_vars="fold", var_name="feature", value_name="coef")
            raw = run.raw_coefs.drop(columns="intercept").reset_index().melt(
                id_vars="fold", var_name="feature", value_name="raw_coef")
            tables[PREDICTION_COEFFICIENTS].append(coef.merge(raw, on=["fold", "feature"]).assign(
                scheme=scheme, model=name))
            tables[PREDICTION_STABILITY].append(run.stability.assign(scheme=scheme, model=name))
            pred = run.predictions.rename(columns={"p_up": "forecast"})
            tables[PREDICTION_FORECASTS].append(pred.assign(scheme=scheme, model=name, kind=(
                "probability_up" if kind == "direction" else "excess_return")))
        tables[PREDICTION_CALIBRATION].append(res.calibration_table().assign(scheme=scheme))
        tables[PREDICTION_LASSO_PATH].append(res.lasso_path.assign(
            scheme=scheme, train_start=last["train_start"], train_end=last["train_end"]))
        tables[PREDICTION_SELECTED].append(res.selected_features.assign(scheme=scheme))
    if n_conv:  # the Lasso path's smallest penalties on the last window may stop at max_iter
        notes.append(f"{n_conv} scikit-learn ConvergenceWarning(s) (coordinate descent at small penalties)")
    out = {t: (pd.concat(v, ignore_index=True) if v else pd.DataFrame()) for t, v in tables.items()}
    if len(out[PREDICTION_FORECASTS]):
        out[PREDICTION_FORECASTS]["week_start"] = pd.to_datetime(out[PREDICTION_FORECASTS]["week_start"])
    return out, notes


# --------------------------------------------------------------------------------------------
# 3. Factor risk model
# --------------------------------------------------------------------------------------------
def betas_factors(b: pd.DataFrame) -> tuple[str, ...]:
    """The daily factors of a day's rolling betas: the most common ``factors`` value of its rows (MKT,
    SIZE, MOM for rows stored before the column existed)."""
    if "factors" not in b.columns or b["factors"].isna().all():
        return LTW_DAILY_FACTORS
    return tuple(b["factors"].dropna().mode().iloc[0].split(","))


def compute_risk_model(betas: pd.DataFrame, daily: pd.DataFrame, factors: pd.DataFrame, weeks: pd.DatetimeIndex,
                       ddof: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per week (as of its last day d): B = rolling betas of day d on the K daily factors its rolling
    regressions used (``factors``: MKT, SIZE, MOM and VOL, FUND, CHAIN where their inputs exist), Omega_f =
    sample covariance of those daily factors over the betas' window (d - window, d] (days on which all
    K are defined), D = diag(SSR / (n - ddof)) from the stored residual vol (resid_vol^2 = SSR /
    (n - K - 1)). Returns (per coin table, per week table with the reproduction check of
    ``risk_model.check_reproduction`` on the coins complete over the window)."""
    ex = daily[["symbol", "date", "ret"]].dropna()
    coins, summaries = [], []
    for w in weeks:
        asof = w + pd.Timedelta(days=6)
        b = betas[betas["date"] == asof].sort_values("symbol")
        if b.empty:
            continue
        names = betas_factors(b)
        b = b[b["factors"].fillna(",".join(LTW_DAILY_FACTORS)) == ",".join(names)] if "factors" in b else b
        ff = factors.dropna(subset=list(names)).sort_values("date")
        rf = ff.set_index("date")["rf"]
        window = int(b["window_days"].mode().iloc[0])
        days = ff[(ff["date"] > asof - pd.Timedelta(days=window)) & (ff["date"] <= asof)]
        if len(days) <= len(names) + 1:
            continue
        om = trailing_factor_cov(days, asof, None, ddof, names, "date")
        n = b["n_obs"].to_numpy(dtype=float)
        d = b["resid_vol"].to_numpy(dtype=float) ** 2 * (n - 1 - len(names)) / (n - ddof)
        model = factor_risk_model(b[[f"beta_{f}" for f in names]].to_numpy(), om, d, b["symbol"].tolist(), names)
        tab = model.table()
        # daily excess returns of the window on the factor days (the rolling OLS sample of a complete coin)
        wret = ex[ex["date"].isin(days["date"])]
        wide = panels.pivot_panel(wret, "ret", index=pd.DatetimeIndex(days["date"]), symbols=list(model.symbols))
        R = wide.to_numpy() - rf.reindex(days["date"]).to_numpy(dtype=float)[:, None]
        n_obs = np.isfinite(R).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            sample_var = np.where(n_obs > ddof + 1, np.nanvar(R, axis=0, ddof=ddof), np.nan)
        complete = n_obs == len(days)
        tab = tab.assign(week_start=w, asof_date=asof, sample_var=sample_var, n_obs=n_obs.astype(np.int64),
                         complete=complete, window_days=window, ddof=ddof, n_coins=len(tab),
                         n_params_factor=model.n_params_factor, n_params_full=model.n_params_full,
                         factors=",".join(names))
        coins.append(tab)
        row = {"week_start": w, "asof_date": asof, "window_days": window, "ddof": ddof, "n_coins": len(tab),
               "factors": ",".join(names),
               "n_complete_coins": int(complete.sum()), "n_factor_days": len(days),
               "n_params_factor": model.n_params_factor, "n_params_full": model.n_params_full,
               "mean_explained_ratio": float(np.nanmean(model.explained_ratio)),
               "median_explained_ratio": float(np.nanmedian(model.explained_ratio))}
        if complete.sum() >= 2:
            rep = check_reproduction(R[:, complete], days[list(names)].to_numpy(dtype=float), ddof)
            tv, sv = model.total_var[complete], sample_var[complete]
            row.update(max_abs_diag_error=rep.max_abs_diag_error,
                       max_abs_offdiag_identity_error=rep.max_abs_offdiag_identity_error,
                       max_abs_resid_cov=rep.max_abs_resid_cov, relative_offdiag_error=rep.relative_offdiag_error,
                       max_sample_var=float(np.max(sv)), reproduction_ok=rep.ok,
                       stored_diag_rel_error=float(np.max(np.abs(tv - sv) / sv)))
        summaries.append(row)
    table = pd.concat(coins, ignore_index=True) if coins else pd.DataFrame()
    return table, pd.DataFrame(summaries)


# --------------------------------------------------------------------------------------------
# 4. PCA factors
# --------------------------------------------------------------------------------------------
def compute_pca(wide: pd.DataFrame, given: pd.DataFrame, n_components: int = 3, method: str = "em",
                min_obs: int = 26) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(factor series long, explained variance with correlations to the given factors, loadings long)."""
    res = pca_factors(wide, n_components, method=method, min_obs=min_obs)
    expl = res.explained_table()
    corr = factor_correlations(res, given.dropna(how="all"), WEEKLY_FACTORS) if len(given) else None
    for f in WEEKLY_FACTORS:
        expl[f"corr_{f}"] = corr[f].to_numpy() if corr is not None else np.nan
    expl = expl.assign(n_periods_corr=int(corr["n_periods"].iloc[0]) if corr is not None else 0, method=method,
                       n_coins=len(res.symbols), n_weeks=len(res.periods), min_obs=min_obs, n_iter=res.n_iter,
                       converged=res.converged)
    series = res.factors.rename_axis("week_start").reset_index().melt(
        id_vars="week_start", var_name="component", value_name="value")
    loads = res.loadings.rename_axis("symbol").reset_index().melt(
        id_vars="symbol", var_name="component", value_name="loading")
    return series.assign(method=method), expl, loads.assign(method=method)


# --------------------------------------------------------------------------------------------
# 5. Factor-model diagnostics
# --------------------------------------------------------------------------------------------
def diagnostics_monte_carlo(config) -> pd.DataFrame:
    """The data-free Monte Carlo study of the diagnostics' run config (``mc_*`` fields)."""
    return monte_carlo_study(lengths=config.mc_lengths, noises=config.mc_noises, reps=config.mc_reps,
                             seed=config.mc_seed).assign(reps=config.mc_reps, seed=config.mc_seed)


def empty_diagnostics(config) -> dict[str, pd.DataFrame]:
    """The diagnostics tables of too short a history: every table empty but the Monte Carlo study."""
    tables = {t: pd.DataFrame() for t in DIAGNOSTICS_TABLES if t != FM_MONTE_CARLO}
    tables[FM_MONTE_CARLO] = diagnostics_monte_carlo(config)
    return tables


def compute_diagnostics(returns: pd.DataFrame, factors: pd.DataFrame, forecasts: pd.DataFrame | None,
                        config) -> dict[str, pd.DataFrame]:
    """All diagnostics tables from the weekly excess returns (wide) and factors (indexed by week);
    ``config`` is the asset's run config (any object with its fields)."""
    fac = factors[list(WEEKLY_FACTORS)].dropna()
    ret = returns.reindex(fac.index)
    fit = dgn.time_series_fit(ret, fac, config.min_obs, config.se_type, parse_lag_rule(config.lag_rule))
    ts = fit.table.assign(alpha_annualised=52 * fit.table["alpha"], min_obs=config.min_obs,
                          construction=config.construction)
    fitted = ts.dropna(subset=["r2"])
    cs = dgn.cross_sectional_r2(ret, fitted.set_index("symbol")[[f"beta_{f}" for f in WEEKLY_FACTORS]])
    cs = cs.rename_axis("week_start").reset_index().dropna(subset=["r2"])
    loads = dgn.loading_tstats(fit, WEEKLY_FACTORS).dropna(subset=["t"])
    resid = dgn.residual_tests(fit.residuals, fac, config.resid_lags, config.resid_min_obs)
    resid = resid.assign(lags=config.resid_lags) if len(resid) else resid
    rolling = dgn.rolling_validation(ret, fac, config.rolling_window, config.rolling_horizon, config.min_obs // 2)
    rolling = rolling.assign(window_weeks=config.rolling_window, horizon_weeks=config.rolling_horizon) if len(rolling) else rolling
    labels = dgn.regime_labels(factors["cmkt"].dropna(), config.regime_lookback)
    regimes = dgn.regime_validation(ret, fac, labels, config.min_obs // 2).assign(lookback=config.regime_lookback)
    pred_reg = pd.DataFrame()
    if forecasts is not None and len(forecasts):
        parts = []
        for model, g in forecasts[forecasts["kind"] == "excess_return"].groupby("model"):
            parts.append(dgn.predictions_by_regime(g, labels).assign(model=model))
        pred_reg = pd.concat(parts, ignore_index=True) if parts else pred_reg
    mc = diagnostics_monte_carlo(config)
    summary = [
        ("time_series", "coins_fitted", len(fitted), f"coins with >= {config.min_obs} weeks"),
        ("time_series", "mean_r2", fitted["r2"].mean(), "mean time-series R² across coins"),
        ("time_series", "median_r2", fitted["r2"].median(), ""),
        ("time_series", "share_alpha_t_gt_1.96", (fitted["t_alpha"].abs() > 1.96).mean(), f"{config.se_type} t"),
        ("cross_section", "mean_r2", cs["r2"].mean() if len(cs) else np.nan,
         "mean per-week R² of returns on [1, full-sample betas]"),
    ]
    for f in WEEKLY_FACTORS:
        sub = loads[loads["factor"] == f]
        summary.append(("loadings", f"share_significant_{f}", sub["significant_5pct"].mean() if len(sub) else np.nan,
                        "|t| > 1.96"))
    for test in ("ljung_box", "arch_lm", "breusch_pagan", "jarque_bera"):
        summary.append(("residual_tests", f"reject_5pct_{test}",
                        (resid[f"{test}_p"] < 0.05).mean() if len(resid) else np.nan, f"lags={config.resid_lags}"))
    summary.append(("rolling_validation", "mean_r2_out_of_sample",
                    rolling["r2_out_of_sample"].mean() if len(rolling) else np.nan,
                    f"window={config.rolling_window}, horizon={config.rolling_horizon}"))
    for _, r in regimes.iterrows():
        summary.append(("regimes", f"r2_out_of_regime_{r['regime']}", r["r2_out_of_regime_betas"],
                        f"{int(r['n_periods'])} weeks"))
    diag = pd.DataFrame(summary, columns=["section", "metric", "value", "detail"])
    diag["value"] = diag["value"].astype(float)
    return {FACTOR_MODEL_DIAGNOSTICS: diag.assign(construction=config.construction), FM_TS_FIT: ts, FM_CS_R2: cs,
            FM_LOADINGS: loads, FM_RESIDUAL_TESTS: resid, FM_ROLLING: rolling,
            FM_REGIMES: regimes, FM_PREDICTION_REGIMES: pred_reg, FM_MONTE_CARLO: mc}
