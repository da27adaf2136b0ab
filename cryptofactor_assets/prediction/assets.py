"""Prediction and factor-model validation (issue 6): feature matrix, walk-forward forecasts, factor risk
model, PCA factors, diagnostics and the metrics dashboard.

Assets (group ``prediction``):

* ``feature_matrix`` (weekly): point-in-time features per coin-week and the next-week targets;
* ``prediction_walk_forward``: OLS / Ridge / Lasso / Elastic Net / logistic L1-L2 walk-forward with
  expanding and rolling windows and an embargo; per-fold and overall metrics, ``model_comparison``;
* ``factor_risk_model`` (weekly): Sigma = B Omega_f B' + D as of each week's last day;
* ``pca_factors``: statistical factors of the weekly return panel and their link to CMKT/CSMB/CMOM;
* ``factor_model_diagnostics``: time-series / cross-sectional fits, residual tests, rolling and regime
  validation, Monte Carlo study;
* ``metrics_dashboard``: the chapter's headline metrics as markdown.

Every asset reads its inputs from DuckDB, calls the pure numerics of ``cryptofactor_assets.prediction``
and writes all its tables in ONE transaction. Parameters are stored as columns and in the metadata.
"""

import datetime as dt
import importlib
import warnings

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
from cryptofactor_assets.factors import research
from cryptofactor_assets.factors.assets import (
    FACTOR_RETURNS_DAILY,
    FACTOR_RETURNS_WEEKLY,
    LONG_SHORT_ALPHAS,
    REGIME_SIGNALS,
    ROLLING_BETAS,
    WEEKLY_CHARACTERISTICS,
)
from cryptofactor_assets.panels.assets import DAILY_PANEL, WEEKLY_PANEL
from cryptofactor_assets.partitions import previous_weeks, weekly_partitions
from cryptofactor_assets.prediction import checks
from cryptofactor_assets.prediction import diagnostics as dgn
from cryptofactor_assets.prediction.features import ALL_FEATURES, build_feature_matrix, usable_features
from cryptofactor_assets.prediction.monte_carlo import monte_carlo_study, plot_study
from cryptofactor_assets.prediction.pca import factor_correlations, pca_factors
from cryptofactor_assets.prediction.risk_model import (
    check_reproduction,
    factor_risk_model,
    trailing_factor_cov,
)
from cryptofactor_assets.prediction.walk_forward import ALL_MODELS, WalkForwardConfig, walk_forward
from cryptofactor_assets.reporting.plots import bar_plot_png, line_plot_png, png_markdown
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import (
    count_window,
    delete_window,
    ensure_table,
    frame_markdown,
    insert_frame,
    load_sql,
    replace_tables,
    transaction,
)

FEATURE_MATRIX = "feature_matrix"
PREDICTION_WALK_FORWARD = "prediction_walk_forward"
PREDICTION_FOLDS = "prediction_folds"
MODEL_COMPARISON = "model_comparison"
PREDICTION_COEFFICIENTS = "prediction_coefficients"
PREDICTION_STABILITY = "prediction_coef_stability"
PREDICTION_FORECASTS = "prediction_forecasts"
PREDICTION_LASSO_PATH = "prediction_lasso_path"
PREDICTION_SELECTED = "prediction_selected_features"
FACTOR_RISK_MODEL = "factor_risk_model"
FACTOR_RISK_MODEL_WEEKS = "factor_risk_model_weeks"
PCA_FACTORS = "pca_factors"
PCA_EXPLAINED = "pca_explained"
PCA_LOADINGS = "pca_loadings"
FACTOR_MODEL_DIAGNOSTICS = "factor_model_diagnostics"
FM_TS_FIT = "factor_model_ts_fit"
FM_CS_R2 = "factor_model_cs_r2"
FM_LOADINGS = "factor_model_loadings"
FM_RESIDUAL_TESTS = "factor_model_residual_tests"
FM_ROLLING = "factor_model_rolling_validation"
FM_REGIMES = "factor_model_regimes"
FM_PREDICTION_REGIMES = "factor_model_prediction_regimes"
FM_MONTE_CARLO = "factor_model_monte_carlo"
METRICS_DASHBOARD = "metrics_dashboard"
RSJ_DAILY = "rsj_daily"
GROUP = "prediction"
KINDS = {"duckdb", "python"}

WEEKLY_FACTORS = ("cmkt", "csmb", "cmom")
DAILY_FACTORS = ("mkt", "size", "mom")
#: Weeks of history before the earliest row the feature matrix computes (4-week volatility, volume growth).
FEATURE_LOOKBACK_WEEKS = 4
#: Weekly look-back of the risk model's daily inputs (covers the default 90-day beta window).
RISK_LOOKBACK_WEEKS = 13
FAR_PAST, FAR_FUTURE = dt.date(1970, 1, 1), dt.date(2200, 1, 1)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _ts(d) -> pd.Timestamp:
    return pd.Timestamp(d)


def _has_table(con, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                       "AND table_name = ?", [table]).fetchone()[0] > 0


def _rf_weekly(weeks: pd.DatetimeIndex) -> tuple[pd.Series | float, str]:
    """Weekly simple risk-free rate per week start and its note (0 when none is configured)."""
    rf, _, note = risk_free_series(weeks, "weekly")
    return rf, note


def _weekly_excess_returns(con, rf_note_out: list | None = None, universe_only: bool = False) -> pd.DataFrame:
    """Wide (week x coin) weekly excess returns from every stored ``weekly_panel`` row with a return."""
    ensure_table(con, WEEKLY_PANEL)
    panel = read_sql_frame(con, load_sql("select_weekly_panel_window"),
                           {"start": FAR_PAST, "end": FAR_FUTURE}, ["week_start"])
    panel = panel[panel["ret"].notna() & (panel["in_universe"] if universe_only else True)]
    if panel.empty:
        return pd.DataFrame()
    wide = panels.pivot_panel(panel, "ret", index_col="week_start")
    rf, note = _rf_weekly(pd.DatetimeIndex(wide.index))
    if rf_note_out is not None:
        rf_note_out.append(note)
    rf_arr = rf.to_numpy(dtype=float) if isinstance(rf, pd.Series) else np.full(len(wide), float(rf))
    return wide.sub(rf_arr, axis=0)


def _rsj_deps() -> list[dg.AssetDep]:
    """Lineage to the RSJ asset when the RSJ domain defines an asset named ``rsj_daily``."""
    name = "cryptofactor_assets.rsj.assets"
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return []
    keys = {k.to_user_string() for a in vars(mod).values() if isinstance(a, dg.AssetsDefinition) for k in a.keys}
    return [dg.AssetDep(RSJ_DAILY, partition_mapping=previous_weeks(1))] if RSJ_DAILY in keys else []


# --------------------------------------------------------------------------------------------
# 1. Feature matrix
# --------------------------------------------------------------------------------------------
class FeatureMatrixConfig(dg.Config):
    min_rsj_days: int = 4  # days with a defined RSJ a week needs for the RSJ features


def compute_feature_matrix(con, start: dt.date, end: dt.date, min_rsj_days: int = 4
                           ) -> tuple[pd.DataFrame, str, str]:
    """Feature rows of the weeks [start - 7, end) from the stored inputs (week ``start - 7`` for its target).

    Returns (frame, RSJ note, risk-free note). Inputs read: characteristics and betas of those weeks,
    daily aggregates and the weekly panel from 4 weeks earlier (trailing windows), the weekly panel
    through week ``end`` (the target of the last week, when already stored).
    """
    prev = start - dt.timedelta(weeks=1)
    lo = prev - dt.timedelta(weeks=FEATURE_LOOKBACK_WEEKS)
    for t in (WEEKLY_CHARACTERISTICS, WEEKLY_PANEL, DAILY_PANEL, ROLLING_BETAS):
        ensure_table(con, t)
    chars = read_sql_frame(con, load_sql("select_weekly_characteristics_window"),
                           {"start": prev, "end": end}, ["week_start"])
    weekly = read_sql_frame(con, load_sql("select_weekly_panel_window"),
                            {"start": lo, "end": end + dt.timedelta(weeks=1)}, ["week_start"])
    agg = read_sql_frame(con, load_sql("select_daily_week_aggregates"), {"start": lo, "end": end},
                         ["week_start"])
    weeks = mondays(prev, end)
    beta_days = [d.date() for d in weeks + pd.Timedelta(days=6)]
    betas = read_sql_frame(con, load_sql("select_rolling_betas_on_dates"), {"dates": beta_days}, ["date"])
    rsj_agg, rsj_note = None, "rsj_daily absent: RSJ features NULL (materialise the RSJ assets to add them)"
    if _has_table(con, RSJ_DAILY):
        rsj_agg = read_sql_frame(con, load_sql("select_rsj_week_aggregates"), {"start": prev, "end": end},
                                 ["week_start"])
        rsj_note = (f"RSJ features from rsj_daily ({len(rsj_agg)} coin-weeks, >= {min_rsj_days} days each)"
                    if len(rsj_agg) else "rsj_daily has no rows in the window: RSJ features NULL")
        rsj_agg = rsj_agg if len(rsj_agg) else None
    rf, rf_note = _rf_weekly(weeks + pd.Timedelta(weeks=1))
    frame = build_feature_matrix(chars, betas, agg, weekly, rf, rsj_agg, min_rsj_days)
    window_days = int(betas["window_days"].mode().iloc[0]) if len(betas) else None
    frame = frame.assign(beta_window_days=window_days, rsj_source="rsj_daily" if rsj_agg is not None else "absent",
                         min_rsj_days=min_rsj_days)
    return frame, rsj_note, rf_note


@dg.asset(
    name=FEATURE_MATRIX,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[
        dg.AssetDep(WEEKLY_CHARACTERISTICS, partition_mapping=previous_weeks(1)),
        dg.AssetDep(WEEKLY_PANEL, partition_mapping=previous_weeks(FEATURE_LOOKBACK_WEEKS + 1)),
        dg.AssetDep(DAILY_PANEL, partition_mapping=previous_weeks(FEATURE_LOOKBACK_WEEKS + 1)),
        dg.AssetDep(ROLLING_BETAS, partition_mapping=previous_weeks(1)),
        *_rsj_deps(),
    ],
    check_specs=[*checks.FEATURE_MATRIX.specs(), checks.feature_targets_spec()],
)
def feature_matrix_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: FeatureMatrixConfig):
    """Point-in-time features per coin-week t and the next-week targets (`prediction.features`).

    Features, all known at the end of week t: the 12 LTW characteristics (MAXDPRC in logs), rolling
    betas on daily MKT / SIZE / MOM as of the week's last day (beta_mkt, beta_size, beta_mom, alpha,
    R², idiosyncratic vol), realised vol (1 and 4 weeks), max / min daily return, Amihud illiquidity,
    turnover, dollar-volume growth, and weekly RSJ aggregates (Zhang & Zhao 2023) when `rsj_daily`
    exists. Targets: `y_next` = return of week t+1 minus the weekly risk-free rate, `y_up` = 1{y_next > 0}.

    Partitions: partition w stores the features of week w, with the target filled if week w+1 is
    already stored (always inside a backfill), and fills the target of week w-1 (whose features it
    leaves untouched) now that week w's return exists. A weekly run therefore completes the previous
    row; `y_next` is NULL only for the newest week.
    """
    start, end = window_dates(context)
    prev = start - dt.timedelta(weeks=1)
    with connect(duckdb) as con:
        frame, rsj_note, rf_note = compute_feature_matrix(con, start, end, config.min_rsj_days)
        current = frame[frame["week_start"] >= _ts(start)]
        targets = frame.loc[frame["week_start"] == _ts(prev), ["symbol", "week_start", "ret_next", "rf_next",
                                                                "y_next", "y_up"]]
        ensure_table(con, FEATURE_MATRIX)
        with transaction(con):
            deleted = delete_window(con, FEATURE_MATRIX, "week_start", start, end)
            insert_frame(con, FEATURE_MATRIX, current)
            con.register("incoming_targets", targets)
            try:
                con.execute(load_sql("update_feature_matrix_targets"))
            finally:
                con.unregister("incoming_targets")
            inserted = count_window(con, FEATURE_MATRIX, "week_start", start, end)
        filled = int(con.execute("SELECT count(y_next) FROM feature_matrix WHERE week_start = ?", [prev]).fetchone()[0])
        results = [*checks.FEATURE_MATRIX.results(con, start, end), checks.feature_targets_result(con, start, end)]
    feats = list(ALL_FEATURES)
    elig = current[current["in_universe"]]
    coverage = pd.DataFrame({"feature": feats, "coverage": [float(elig[c].notna().mean()) if len(elig) else np.nan
                                                            for c in feats]})
    summary = elig[feats].describe().T.reset_index()[["index", "mean", "std", "min", "max"]] if len(elig) else None
    note = ({"note": f"needs weekly_characteristics rows for the weeks {start} .. {end} (exclusive); none "
                     "stored: empty result"} if not inserted else {})
    yield dg.MaterializeResult(metadata=lean_metadata(context, {
        "dagster/row_count": inserted,
        **note,
        "rows_replaced": deleted,
        "rows_with_target": int(current["y_next"].notna().sum()),
        "previous_week_targets_filled": filled,
        "rsj": rsj_note,
        "risk_free": rf_note,
        "parameters": md(f"min_rsj_days={config.min_rsj_days}, beta window="
                         f"{frame['beta_window_days'].iloc[0] if len(frame) else None} days, "
                         f"features={len(feats)}"),
        "feature_coverage_eligible": md(frame_markdown(coverage)),
        "feature_summary_eligible": md(frame_markdown(summary if summary is not None else pd.DataFrame())),
    }))
    yield from results


# --------------------------------------------------------------------------------------------
# 2. Walk-forward prediction
# --------------------------------------------------------------------------------------------
class WalkForwardAssetConfig(dg.Config):
    schemes: list[str] = ["expanding", "rolling"]
    models: list[str] = list(ALL_MODELS)
    features: list[str] = []  # empty: every feature with enough coverage
    min_feature_coverage: float = 0.5
    universe_only: bool = True  # coins eligible (in_universe) in the formation week
    min_train_periods: int = 52
    window_periods: int = 52
    embargo: int = 1
    test_periods: int = 4
    n_inner_splits: int = 3
    ridge_lambdas: list[float] = np.logspace(-4, 2, 25).tolist()
    # per-observation logistic penalties; 1e-4 costs ~10x the run time (saga) for no gain on the demo
    logit_lambdas: list[float] = [1e-3, 1e-2, 1e-1]
    enet_l1_ratio: float = 0.5
    n_alphas: int = 20
    max_folds: int = 0  # 0: all folds


def walk_forward_config(config: WalkForwardAssetConfig, scheme: str) -> WalkForwardConfig:
    return WalkForwardConfig(
        scheme=scheme, min_train_periods=config.min_train_periods, window_periods=config.window_periods,
        embargo=config.embargo, test_periods=config.test_periods, n_inner_splits=config.n_inner_splits,
        ridge_lambdas=tuple(config.ridge_lambdas), enet_l1_ratio=config.enet_l1_ratio, n_alphas=config.n_alphas,
        logit_lambdas=tuple(config.logit_lambdas), max_folds=config.max_folds or None)


def prediction_sample(fm: pd.DataFrame, config: WalkForwardAssetConfig) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Rows and features the walk-forward uses: eligible rows (optional) and features defined on at least
    ``min_feature_coverage`` of the rows with a target (unless listed explicitly)."""
    rows = fm[fm["in_universe"].astype(bool)] if config.universe_only else fm
    if config.features:
        return rows, list(config.features), []
    keep, drop = usable_features(rows, ALL_FEATURES, config.min_feature_coverage)
    return rows, keep, drop


def compute_walk_forward(fm: pd.DataFrame, config: WalkForwardAssetConfig, log=None
                         ) -> tuple[dict[str, pd.DataFrame], list]:
    """Every scheme's walk-forward as the stored tables (dict by table name) and notes; progress lines
    (refits done / total per scheme, ``cryptofactor_assets.progress``) go to ``log``."""
    from cryptofactor_assets.progress import Progress

    rows, feats, dropped = prediction_sample(fm, config)
    notes = [f"features dropped for coverage < {config.min_feature_coverage}: {dropped}"] if dropped else []
    if not feats or rows["y_next"].notna().sum() == 0:
        notes.append("no usable features or no rows with a target: nothing to fit")
        return {t: pd.DataFrame() for t in (
            PREDICTION_WALK_FORWARD, MODEL_COMPARISON, PREDICTION_FOLDS, PREDICTION_COEFFICIENTS,
            PREDICTION_STABILITY, PREDICTION_FORECASTS, PREDICTION_LASSO_PATH, PREDICTION_SELECTED)}, notes
    tables: dict[str, list[pd.DataFrame]] = {t: [] for t in (
        PREDICTION_WALK_FORWARD, MODEL_COMPARISON, PREDICTION_FOLDS, PREDICTION_COEFFICIENTS, PREDICTION_STABILITY,
        PREDICTION_FORECASTS, PREDICTION_LASSO_PATH, PREDICTION_SELECTED)}
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
                "enet_l1_ratio": wcfg.enet_l1_ratio, "n_alphas": wcfg.n_alphas}]))
            tables[MODEL_COMPARISON].append(pd.DataFrame([{
                "scheme": scheme, "model": name, "target": kind, "is_r2": s["is_r2"], "oos_r2_zero": s["oos_r2_zero"],
                "oos_r2_mean": s["oos_r2_mean"], "direction_accuracy": s["direction_accuracy"], "brier": s["brier"],
                "sparsity": s["sparsity"], "stability": s["sign_consistency"], "ic_mean": s["ic_mean"],
                "ic_t": s["ic_t"], "n_folds": s["n_folds"], "n_test": s["n_test"]}]))
            folds = ft.merge(run.fold_metrics, on="fold").assign(model=name, **params)
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
        tables[PREDICTION_LASSO_PATH].append(res.lasso_path.assign(
            scheme=scheme, train_start=last["train_start"], train_end=last["train_end"]))
        tables[PREDICTION_SELECTED].append(res.selected_features.assign(scheme=scheme))
    if n_conv:  # the Lasso path's smallest penalties on the last window may stop at max_iter
        notes.append(f"{n_conv} scikit-learn ConvergenceWarning(s) (coordinate descent at small penalties)")
    out = {t: (pd.concat(v, ignore_index=True) if v else pd.DataFrame()) for t, v in tables.items()}
    if len(out[PREDICTION_FORECASTS]):
        out[PREDICTION_FORECASTS]["week_start"] = pd.to_datetime(out[PREDICTION_FORECASTS]["week_start"])
    return out, notes


@dg.asset(
    name=PREDICTION_WALK_FORWARD,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[FEATURE_MATRIX],
    check_specs=[*checks.PREDICTION_WALK_FORWARD.specs(), *checks.table_specs(checks.MODEL_COMPARISON,
                                                                               PREDICTION_WALK_FORWARD),
                 checks.folds_spec()],
)
def prediction_walk_forward_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                                  config: WalkForwardAssetConfig):
    """Walk-forward forecasts of next-week excess returns (`y_next`) and their sign from `feature_matrix`.

    Models: OLS, Ridge, Lasso, Elastic Net (penalties by forward-chaining CV inside each training window
    only) and L1 / L2 logistic regression for the direction; standardisation fitted on the training
    window only; `expanding` and `rolling` training windows, `embargo` weeks between train and test,
    non-overlapping test blocks of `test_periods` weeks (`prediction.walk_forward`). Tables:
    `prediction_walk_forward` (overall, per scheme and model), `model_comparison` (the chapter's
    Section 9 table: in-sample R², out-of-sample R² against zero and against the historical mean
    (Campbell & Thompson 2008), direction accuracy, Brier score, sparsity, sign stability, Spearman IC),
    `prediction_folds`, `prediction_coefficients`, `prediction_coef_stability`, `prediction_forecasts`,
    `prediction_lasso_path` (last training window) and `prediction_selected_features`.
    """
    with connect(duckdb) as con:
        ensure_table(con, FEATURE_MATRIX)
        fm = read_sql_frame(con, "SELECT * FROM feature_matrix ORDER BY week_start, symbol",
                            date_columns=["week_start", "target_week"])
        out, notes = compute_walk_forward(fm, config, log=context.log.info)
        written = replace_tables(con, list(out.items()))
        results = [*checks.PREDICTION_WALK_FORWARD.results(con), *checks.MODEL_COMPARISON.results(con),
                   checks.folds_result(con)]
    meta = {
        "dagster/row_count": written[PREDICTION_WALK_FORWARD].inserted,
        "rows_per_table": md(frame_markdown(pd.DataFrame([{"table": t, "rows": w.inserted}
                                                           for t, w in written.items()]))),
        "parameters": md(f"schemes={list(config.schemes)}, models={list(config.models)}, "
                         f"min_train_periods={config.min_train_periods}, window_periods={config.window_periods}, "
                         f"embargo={config.embargo}, test_periods={config.test_periods}, "
                         f"n_inner_splits={config.n_inner_splits}, logit_lambdas={list(config.logit_lambdas)}, "
                         f"universe_only={config.universe_only}"),
    }
    if notes:
        meta["notes"] = md("\n".join(f"- {n}" for n in notes))
    comp = out[MODEL_COMPARISON]
    if len(comp):
        meta["model_comparison"] = md(frame_markdown(comp.drop(columns=["n_folds"])))
        main = comp[comp["scheme"] == comp["scheme"].iloc[0]].set_index("model")
        reg = main.loc[main["target"] == "return", ["oos_r2_zero", "oos_r2_mean"]]
        meta["oos_r2_plot"] = md(png_markdown(bar_plot_png(100 * reg, f"Out-of-sample R² (%), {main['scheme'].iloc[0]}",
                                                           "%"), "OOS R2"))
        path = out[PREDICTION_LASSO_PATH]
        path = path[path["scheme"] == path["scheme"].iloc[0]]
        wide = path.pivot_table(index="alpha", columns="feature", values="coef").sort_index()
        wide.index = np.log10(wide.index.to_numpy(dtype=float))
        meta["lasso_path"] = md(png_markdown(line_plot_png(wide, "Lasso path on the last training window "
                                                                 "(x: log10 alpha)", "standardised coefficient"),
                                             "lasso path"))
        sel = out[PREDICTION_SELECTED]
        meta["selected_features"] = md(frame_markdown(sel[sel["scheme"] == sel["scheme"].iloc[0]].head(15)))
    yield dg.MaterializeResult(metadata=meta)
    yield from results


# --------------------------------------------------------------------------------------------
# 3. Factor risk model
# --------------------------------------------------------------------------------------------
class RiskModelConfig(dg.Config):
    ddof: int = 1  # of the factor covariance, the residual variances and the sample covariance


def compute_risk_model(betas: pd.DataFrame, daily: pd.DataFrame, factors: pd.DataFrame, weeks: pd.DatetimeIndex,
                       ddof: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per week (as of its last day d): B = rolling betas of day d, Omega_f = sample covariance of the daily
    factors over the betas' window (d - window, d], D = diag(SSR / (n - ddof)) from the stored residual
    vol (resid_vol^2 = SSR / (n - 4)). Returns (per coin table, per week table with the reproduction
    check of ``risk_model.check_reproduction`` on the coins complete over the window)."""
    ff = factors.dropna(subset=list(DAILY_FACTORS)).sort_values("date")
    rf = ff.set_index("date")["rf"]
    ex = daily[["symbol", "date", "ret"]].dropna()
    coins, summaries = [], []
    for w in weeks:
        asof = w + pd.Timedelta(days=6)
        b = betas[betas["date"] == asof].sort_values("symbol")
        if b.empty:
            continue
        window = int(b["window_days"].mode().iloc[0])
        days = ff[(ff["date"] > asof - pd.Timedelta(days=window)) & (ff["date"] <= asof)]
        if len(days) <= len(DAILY_FACTORS) + 1:
            continue
        om = trailing_factor_cov(days, asof, None, ddof, DAILY_FACTORS, "date")
        n = b["n_obs"].to_numpy(dtype=float)
        d = b["resid_vol"].to_numpy(dtype=float) ** 2 * (n - 1 - len(DAILY_FACTORS)) / (n - ddof)
        model = factor_risk_model(b[["beta_mkt", "beta_size", "beta_mom"]].to_numpy(), om, d,
                                  b["symbol"].tolist(), DAILY_FACTORS)
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
                         n_params_factor=model.n_params_factor, n_params_full=model.n_params_full)
        coins.append(tab)
        row = {"week_start": w, "asof_date": asof, "window_days": window, "ddof": ddof, "n_coins": len(tab),
               "n_complete_coins": int(complete.sum()), "n_factor_days": len(days),
               "n_params_factor": model.n_params_factor, "n_params_full": model.n_params_full,
               "mean_explained_ratio": float(np.nanmean(model.explained_ratio)),
               "median_explained_ratio": float(np.nanmedian(model.explained_ratio))}
        if complete.sum() >= 2:
            rep = check_reproduction(R[:, complete], days[list(DAILY_FACTORS)].to_numpy(dtype=float), ddof)
            tv, sv = model.total_var[complete], sample_var[complete]
            row.update(max_abs_diag_error=rep.max_abs_diag_error,
                       max_abs_offdiag_identity_error=rep.max_abs_offdiag_identity_error,
                       max_abs_resid_cov=rep.max_abs_resid_cov, relative_offdiag_error=rep.relative_offdiag_error,
                       max_sample_var=float(np.max(sv)), reproduction_ok=rep.ok,
                       stored_diag_rel_error=float(np.max(np.abs(tv - sv) / sv)))
        summaries.append(row)
    table = pd.concat(coins, ignore_index=True) if coins else pd.DataFrame()
    return table, pd.DataFrame(summaries)


@dg.asset(
    name=FACTOR_RISK_MODEL,
    partitions_def=weekly_partitions,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[
        dg.AssetDep(ROLLING_BETAS, partition_mapping=dg.TimeWindowPartitionMapping()),
        dg.AssetDep(FACTOR_RETURNS_DAILY, partition_mapping=previous_weeks(RISK_LOOKBACK_WEEKS)),
        dg.AssetDep(DAILY_PANEL, partition_mapping=previous_weeks(RISK_LOOKBACK_WEEKS)),
    ],
    check_specs=[*checks.FACTOR_RISK_MODEL.specs(), *checks.risk_specs()],
)
def factor_risk_model_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: RiskModelConfig):
    """Factor risk model Sigma = B Omega_f B' + D per week, as of the week's last day d (Grinold & Kahn,
    ch. 3): B = rolling betas on daily MKT / SIZE / MOM of day d, Omega_f = covariance of the daily
    factors over the same window (d - window, d], D = residual variances SSR / (n - ddof). Per coin:
    total, systematic and residual daily variance, explained-variance ratio, the sample variance over
    the window; parameter count N K + K(K+1)/2 + N against N(N+1)/2. `factor_risk_model_weeks` holds
    per week the reproduction check: same-sample OLS reproduces the sample covariance of the coins
    complete over the window (diagonal exactly, off-diagonal up to the residual cross-covariance).
    """
    start, end = window_dates(context)
    weeks = mondays(start, end)
    lo = start - dt.timedelta(weeks=RISK_LOOKBACK_WEEKS)
    with connect(duckdb) as con:
        for t in (ROLLING_BETAS, FACTOR_RETURNS_DAILY, DAILY_PANEL):
            ensure_table(con, t)
        beta_days = [d.date() for d in weeks + pd.Timedelta(days=6)]
        betas = read_sql_frame(con, load_sql("select_rolling_betas_on_dates"), {"dates": beta_days}, ["date"])
        daily = read_sql_frame(con, load_sql("select_daily_panel_window"), {"start": lo, "end": end}, ["date"])
        factors = read_sql_frame(con, load_sql("select_factor_returns_daily_window"), {"start": lo, "end": end},
                                 ["date"])
        table, week_table = compute_risk_model(betas, daily, factors, weeks, config.ddof)
        written = replace_tables(con, [(FACTOR_RISK_MODEL, table), (FACTOR_RISK_MODEL_WEEKS, week_table)],
                                  (start, end))
        results = [*checks.FACTOR_RISK_MODEL.results(con, start, end), *checks.risk_results(con, start, end)]
    meta = {"dagster/row_count": written[FACTOR_RISK_MODEL].inserted,
            "rows_replaced": written[FACTOR_RISK_MODEL].deleted,
            "parameters": md(f"ddof={config.ddof}, factors={list(DAILY_FACTORS)} (daily), window = the rolling "
                             "betas' window_days")}
    if not written[FACTOR_RISK_MODEL].inserted:  # too short a history: said so
        meta["note"] = (f"needs rolling betas on the weeks' last days (a rolling beta needs the daily factors "
                        f"and >= its min_obs daily observations per coin); rolling_betas holds {len(betas)} rows "
                        f"on the {len(beta_days)} last days of the window's weeks: empty result")
    if len(week_table):
        meta["weeks"] = md(frame_markdown(week_table[[
            "week_start", "n_coins", "n_complete_coins", "n_params_factor", "n_params_full", "mean_explained_ratio",
            *[c for c in ("relative_offdiag_error", "reproduction_ok") if c in week_table]]].tail(12)))
        last = table[table["week_start"] == table["week_start"].max()]
        meta["last_week_by_coin"] = md(frame_markdown(last[[
            "symbol", "beta_mkt", "beta_size", "beta_mom", "total_var", "sample_var", "explained_ratio"]]))
    yield dg.MaterializeResult(metadata=lean_metadata(context, meta))
    yield from results


# --------------------------------------------------------------------------------------------
# 4. PCA factors
# --------------------------------------------------------------------------------------------
class PcaConfig(dg.Config):
    n_components: int = 3
    method: str = "em"  # em (Stock-Watson EM imputation) | pairwise
    min_obs: int = 26  # weeks a coin needs to enter
    construction: str = "double_sort"  # of the CMKT / CSMB / CMOM compared with
    universe_only: bool = False


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


@dg.asset(
    name=PCA_FACTORS,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[WEEKLY_PANEL, FACTOR_RETURNS_WEEKLY],
    check_specs=[*checks.table_specs(checks.PCA_EXPLAINED, PCA_FACTORS), checks.pca_spec()],
)
def pca_factors_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: PcaConfig):
    """Statistical factors: PCA of the weekly excess-return panel (every stored week; coins with at least
    `min_obs` weeks). Missing coin-weeks: EM imputation of the rank-k model (Stock & Watson 2002) or the
    pairwise-complete covariance (`prediction.pca`). Tables: `pca_factors` (factor series per week),
    `pca_explained` (eigenvalue, variance explained, cumulative, correlation with CMKT / CSMB / CMOM of
    the same week) and `pca_loadings`.
    """
    with connect(duckdb) as con:
        notes: list[str] = []
        wide = _weekly_excess_returns(con, notes, config.universe_only)
        given = research.read_weekly_factors(con, config.construction)
        n_ok = int((wide.notna().sum() >= config.min_obs).sum()) if len(wide) else 0
        if n_ok < config.n_components:
            series, expl, loads = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
            notes.append(f"{n_ok} coins with >= {config.min_obs} weeks: too few for {config.n_components} components")
        else:
            series, expl, loads = compute_pca(wide, given, config.n_components, config.method, config.min_obs)
        written = replace_tables(con, [(PCA_FACTORS, series), (PCA_EXPLAINED, expl), (PCA_LOADINGS, loads)])
        results = [*checks.PCA_EXPLAINED.results(con), checks.pca_result(con)]
    meta = {"dagster/row_count": written[PCA_FACTORS].inserted,
            "parameters": md(f"n_components={config.n_components}, method={config.method}, min_obs={config.min_obs}, "
                             f"construction={config.construction}, universe_only={config.universe_only}"),
            "notes": md("\n".join(f"- {n}" for n in notes))}
    if len(expl):
        meta["explained_and_correlations"] = md(frame_markdown(expl[[
            "component", "explained_ratio", "cumulative_ratio", "corr_cmkt", "corr_csmb", "corr_cmom"]]))
        wide_f = series.pivot(index="week_start", columns="component", values="value")
        meta["factors_cumulative"] = md(png_markdown(line_plot_png(wide_f.cumsum(), "PCA factors (cumulative "
                                                                                    "scores)"), "pca"))
    yield dg.MaterializeResult(metadata=meta)
    yield from results


# --------------------------------------------------------------------------------------------
# 5. Factor-model diagnostics
# --------------------------------------------------------------------------------------------
class DiagnosticsConfig(dg.Config):
    construction: str = "double_sort"
    min_obs: int = 26  # weeks per coin for the time-series fit
    resid_lags: int = 4
    resid_min_obs: int = 30
    rolling_window: int = 52
    rolling_horizon: int = 13
    regime_lookback: int = 12
    prediction_scheme: str = "expanding"
    mc_reps: int = 200
    mc_lengths: list[int] = [52, 104, 260, 520]
    mc_noises: list[float] = [0.05, 0.10, 0.20]
    mc_seed: int = 20240601


def compute_diagnostics(returns: pd.DataFrame, factors: pd.DataFrame, forecasts: pd.DataFrame | None,
                        config: DiagnosticsConfig) -> dict[str, pd.DataFrame]:
    """All diagnostics tables from the weekly excess returns (wide) and factors (indexed by week)."""
    fac = factors[list(WEEKLY_FACTORS)].dropna()
    ret = returns.reindex(fac.index)
    fit = dgn.time_series_fit(ret, fac, config.min_obs)
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
    mc = monte_carlo_study(lengths=config.mc_lengths, noises=config.mc_noises, reps=config.mc_reps,
                           seed=config.mc_seed).assign(reps=config.mc_reps, seed=config.mc_seed)
    summary = [
        ("time_series", "coins_fitted", len(fitted), f"coins with >= {config.min_obs} weeks"),
        ("time_series", "mean_r2", fitted["r2"].mean(), "mean time-series R² across coins"),
        ("time_series", "median_r2", fitted["r2"].median(), ""),
        ("time_series", "share_alpha_t_gt_1.96", (fitted["t_alpha"].abs() > 1.96).mean(), "classical OLS t"),
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


@dg.asset(
    name=FACTOR_MODEL_DIAGNOSTICS,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[WEEKLY_PANEL, FACTOR_RETURNS_WEEKLY, PREDICTION_WALK_FORWARD],
    check_specs=checks.FACTOR_MODEL_DIAGNOSTICS.specs(),
)
def factor_model_diagnostics_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                                   config: DiagnosticsConfig):
    """Validation of the CMKT / CSMB / CMOM model on weekly excess returns (`prediction.diagnostics`):
    per-coin time-series OLS (alpha, betas, classical t, R²; `factor_model_ts_fit`), per-week
    cross-sectional R² on the betas (`factor_model_cs_r2`), loading t-stats (`factor_model_loadings`),
    residual tests from statsmodels (Ljung-Box, ARCH-LM, Breusch-Pagan, Jarque-Bera;
    `factor_model_residual_tests`), rolling-window out-of-sample fit (`factor_model_rolling_validation`),
    regime validation on past-only bull / bear / high-vol labels from CMKT (`factor_model_regimes`,
    and the walk-forward forecasts by regime in `factor_model_prediction_regimes`), and a Monte Carlo
    study of beta / premium estimation error against sample length and noise (`factor_model_monte_carlo`).
    `factor_model_diagnostics` holds the headline figures.
    """
    with connect(duckdb) as con:
        notes: list[str] = []
        returns = _weekly_excess_returns(con, notes)
        factors = research.read_weekly_factors(con, config.construction)
        forecasts = None
        if _has_table(con, PREDICTION_FORECASTS):
            forecasts = read_sql_frame(con, "SELECT * FROM prediction_forecasts WHERE scheme = ?",
                                       [config.prediction_scheme], ["week_start"])
        n_weeks = factors[list(WEEKLY_FACTORS)].dropna().shape[0] if len(factors) else 0
        if n_weeks < config.min_obs or returns.empty:
            # too short a history: empty tables (and the data-free Monte Carlo study), said so in the metadata
            notes.append(f"{n_weeks} weeks with CMKT, CSMB, CMOM ({config.construction}) and returns < min_obs="
                         f"{config.min_obs}: diagnostics tables left empty")
            tables = {t: pd.DataFrame() for t in (FACTOR_MODEL_DIAGNOSTICS, FM_TS_FIT, FM_CS_R2, FM_LOADINGS,
                                                 FM_RESIDUAL_TESTS, FM_ROLLING, FM_REGIMES, FM_PREDICTION_REGIMES)}
            tables[FM_MONTE_CARLO] = monte_carlo_study(
                lengths=config.mc_lengths, noises=config.mc_noises, reps=config.mc_reps,
                seed=config.mc_seed).assign(reps=config.mc_reps, seed=config.mc_seed)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # statsmodels 0.15 het_arch return-type notice
                tables = compute_diagnostics(returns, factors, forecasts, config)
        written = replace_tables(con, list(tables.items()))
        results = checks.FACTOR_MODEL_DIAGNOSTICS.results(con)
    mc = tables[FM_MONTE_CARLO]
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": written[FACTOR_MODEL_DIAGNOSTICS].inserted,
        "rows_per_table": md(frame_markdown(pd.DataFrame([{"table": t, "rows": w.inserted}
                                                           for t, w in written.items()]))),
        "summary": md(frame_markdown(tables[FACTOR_MODEL_DIAGNOSTICS].drop(columns="construction",
                                                                          errors="ignore"))),
        "regimes": md(frame_markdown(tables[FM_REGIMES])),
        "prediction_by_regime": md(frame_markdown(tables[FM_PREDICTION_REGIMES])),
        "rolling_validation": md(frame_markdown(tables[FM_ROLLING])),
        "monte_carlo": md(frame_markdown(mc[mc["parameter"].isin(["beta_0", "premium_0"])])),
        "monte_carlo_plot": md(png_markdown(plot_study(mc), "Monte Carlo RMSE")),
        "parameters": md(f"construction={config.construction}, min_obs={config.min_obs}, lags={config.resid_lags}, "
                         f"rolling={config.rolling_window}/{config.rolling_horizon}, regime_lookback="
                         f"{config.regime_lookback}, mc_reps={config.mc_reps}, seed={config.mc_seed}"),
        "notes": md("\n".join(f"- {n}" for n in notes)),
    })
    yield from results


# --------------------------------------------------------------------------------------------
# 6. Metrics dashboard
# --------------------------------------------------------------------------------------------
class DashboardConfig(dg.Config):
    construction: str = "double_sort"
    prediction_scheme: str = "expanding"


def compute_dashboard(con, config: DashboardConfig) -> tuple[pd.DataFrame, list[str]]:
    """The chapter's headline metrics from the stored tables (missing tables are skipped with a note)."""
    rows, notes = [], []

    def add(section, metric, value, detail=""):
        rows.append({"section": section, "metric": metric, "value": float(value) if value is not None else np.nan,
                     "detail": detail})

    if _has_table(con, FM_TS_FIT):
        ts = con.execute("SELECT * FROM factor_model_ts_fit WHERE r2 IS NOT NULL").df()
        if len(ts):
            add("factor_r2", "mean_time_series_r2", ts["r2"].mean(), f"{len(ts)} coins, weekly CMKT/CSMB/CMOM")
            add("factor_r2", "median_time_series_r2", ts["r2"].median())
            add("alpha", "mean_alpha_annualised", ts["alpha_annualised"].mean(), "52 x weekly intercept")
            add("alpha", "mean_alpha_t", ts["t_alpha"].mean(), "classical OLS t")
            add("alpha", "share_alpha_t_gt_1.96", (ts["t_alpha"].abs() > 1.96).mean())
    else:
        notes.append("factor_model_ts_fit absent (materialise factor_model_diagnostics)")
    if _has_table(con, FM_CS_R2):
        add("factor_r2", "mean_cross_sectional_r2", con.execute("SELECT avg(r2) FROM factor_model_cs_r2").fetchone()[0])
    if _has_table(con, ROLLING_BETAS):
        add("factor_r2", "mean_rolling_daily_r2", con.execute("SELECT avg(r2) FROM rolling_betas").fetchone()[0],
            "rolling daily regressions")
    if _has_table(con, LONG_SHORT_ALPHAS):
        ls = con.execute("SELECT * FROM long_short_alphas WHERE weighting = 'vw' ORDER BY characteristic").df()
        for _, r in ls.iterrows():
            add("alpha", f"ls_{r['characteristic']}_vw_f3_alpha_annualised", 52 * r["f3_alpha"],
                f"t = {r['f3_alpha_t']:.2f} (Newey-West), {int(r['n_weeks'])} weeks")
    else:
        notes.append("long_short_alphas absent")
    if _has_table(con, REGIME_SIGNALS):
        rs = con.execute("SELECT * FROM regime_signals").df()
        if len(rs):
            add("beta_stability", "median_beta_cv", rs["beta_cv"].median(), "sd / |mean| of the rolling market beta")
            add("beta_stability", "share_coins_with_shift", (rs["n_shifts"] > 0).mean(), "|z| > threshold")
            add("beta_stability", "mean_r2_decay", rs["r2_decay"].mean(), "recent minus long-run rolling R²")
    else:
        notes.append("regime_signals absent")
    if _has_table(con, MODEL_COMPARISON):
        mc = con.execute("SELECT * FROM model_comparison WHERE scheme = ?", [config.prediction_scheme]).df()
        for _, r in mc.iterrows():
            add("ic", f"{r['model']}_ic_mean", r["ic_mean"], f"t = {r['ic_t']:.2f}, Spearman, {config.prediction_scheme}")
        lasso = mc[mc["model"] == "lasso"]
        if len(lasso):
            add("lasso", "lasso_sparsity", lasso["sparsity"].iloc[0], "share of zero coefficients across folds")
    else:
        notes.append("model_comparison absent")
    if _has_table(con, PREDICTION_SELECTED):
        sel = con.execute("SELECT count(*) FILTER (WHERE selected_last), count(*) FROM prediction_selected_features "
                          "WHERE scheme = ?", [config.prediction_scheme]).fetchone()
        add("lasso", "lasso_selected_last_window", sel[0], f"of {sel[1]} features")
    if _has_table(con, FACTOR_RETURNS_WEEKLY):
        f = research.read_weekly_factors(con, config.construction)
        for c in WEEKLY_FACTORS:
            x = f[c].dropna()
            if len(x) > 2 and x.std() > 0:
                add("factor_sharpe", f"{c}_sharpe_annualised", np.sqrt(52) * x.mean() / x.std(ddof=1),
                    f"mean {52 * x.mean():.3f} / yr, {len(x)} weeks, {config.construction}")
    return pd.DataFrame(rows, columns=["section", "metric", "value", "detail"]), notes


@dg.asset(
    name=METRICS_DASHBOARD,
    pool=POOL,
    group_name=GROUP,
    kinds=KINDS,
    deps=[FACTOR_MODEL_DIAGNOSTICS, PREDICTION_WALK_FORWARD, LONG_SHORT_ALPHAS, REGIME_SIGNALS,
          FACTOR_RETURNS_WEEKLY, ROLLING_BETAS],
    check_specs=checks.METRICS_DASHBOARD.specs(),
)
def metrics_dashboard_asset(context: dg.AssetExecutionContext, duckdb: DuckDBResource, config: DashboardConfig):
    """The chapter's headline metrics, one markdown table per section: factor R² (time-series,
    cross-sectional, rolling), annualised alphas with t (coins and VW long-short portfolios), beta
    stability (regime signals), Spearman IC of the walk-forward forecasts, factor Sharpe ratios
    (sqrt(52) mean / sd) and Lasso sparsity. Read from the stored tables; stored in `metrics_dashboard`.
    """
    with connect(duckdb) as con:
        table, notes = compute_dashboard(con, config)
        written = replace_tables(con, [(METRICS_DASHBOARD, table.assign(construction=config.construction,
                                                                         prediction_scheme=config.prediction_scheme))])
        results = checks.METRICS_DASHBOARD.results(con)
    meta = {"dagster/row_count": written[METRICS_DASHBOARD].inserted}
    for section, g in table.groupby("section", sort=False):
        meta[section] = md(frame_markdown(g[["metric", "value", "detail"]].reset_index(drop=True)))
    if notes:
        meta["notes"] = md("\n".join(f"- {n}" for n in notes))
    yield dg.MaterializeResult(metadata=meta)
    yield from results
