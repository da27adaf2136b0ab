"""The walk-forward prediction asset: its config and spec (the numerics are in ``prediction.compute``
and ``prediction.walk_forward``)."""

import dagster as dg
import numpy as np
import pandas as pd

from cryptofactor_assets.analytics.plots import bar_plot_png, line_plot_png, png_markdown
from cryptofactor_assets.common import md
from cryptofactor_assets.lib.table_asset import TableOutput, TableRun, table_asset
from cryptofactor_assets.prediction import checks
from cryptofactor_assets.prediction.compute import compute_walk_forward
from cryptofactor_assets.prediction.tables import (
    FEATURE_MATRIX,
    MODEL_COMPARISON,
    PREDICTION_LASSO_PATH,
    PREDICTION_SELECTED,
)
from cryptofactor_assets.prediction.walk_forward import ALL_MODELS, WalkForwardConfig
from cryptofactor_assets.storage.frames import read_sql_frame
from cryptofactor_assets.storage.warehouse import ensure_table, frame_markdown, load_sql

GROUP = "prediction"
_DEFAULTS = WalkForwardConfig()


class WalkForwardAssetConfig(dg.Config):
    schemes: list[str] = ["expanding", "rolling"]
    models: list[str] = list(ALL_MODELS)
    features: list[str] = []  # empty: every feature with enough coverage
    min_feature_coverage: float = 0.5
    universe_only: bool = True  # coins eligible (in_universe) in the formation week
    min_train_periods: int = _DEFAULTS.min_train_periods
    window_periods: int = 52
    embargo: int = _DEFAULTS.embargo
    test_periods: int = _DEFAULTS.test_periods
    n_inner_splits: int = _DEFAULTS.n_inner_splits
    ridge_lambdas: list[float] = list(_DEFAULTS.ridge_lambdas)
    # per-observation logistic penalties; 1e-4 costs ~10x the run time (saga) for no gain on the demo
    logit_lambdas: list[float] = [1e-3, 1e-2, 1e-1]
    enet_l1_ratio: float = _DEFAULTS.enet_l1_ratio
    n_alphas: int = _DEFAULTS.n_alphas
    max_folds: int = 0  # 0: all folds
    # direction models' P(up) calibration inside each training window: sigmoid (Platt) or isotonic; the
    # default and its reasons are in WalkForwardConfig
    calibration_method: str = _DEFAULTS.calibration_method
    calibration_bins: int = _DEFAULTS.calibration_bins  # equal-width bins of prediction_calibration


def _plots(out: dict[str, pd.DataFrame]) -> dict:
    """Model comparison, out-of-sample R² and Lasso path of the first scheme, selected features."""
    comp = out[MODEL_COMPARISON]
    if not len(comp):
        return {}
    meta = {"model_comparison": md(frame_markdown(comp.drop(columns=["n_folds"])))}
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
    return meta


@table_asset(checks.PREDICTION_WALK_FORWARD, group=GROUP, config=WalkForwardAssetConfig, deps=[FEATURE_MATRIX])
def prediction_walk_forward(run: TableRun) -> TableOutput:
    """Walk-forward forecasts of next-week excess returns (`y_next`) and their sign from `feature_matrix`.

    Models: OLS, Ridge, Lasso, Elastic Net (penalties by forward-chaining CV inside each training window
    only) and L1 / L2 logistic regression for the direction; standardisation fitted on the training
    window only; `expanding` and `rolling` training windows, `embargo` weeks between train and test,
    non-overlapping test blocks of `test_periods` weeks (`prediction.walk_forward`). Tables:
    `prediction_walk_forward` (overall, per scheme and model), `model_comparison` (the chapter's
    Section 9 table: in-sample R², out-of-sample R² against zero and against the historical mean
    (Campbell & Thompson 2008), direction accuracy, Brier score and log-loss of the raw and the
    calibrated P(up), sparsity, sign stability, Spearman IC), `prediction_folds`,
    `prediction_coefficients`, `prediction_coef_stability`, `prediction_forecasts` (with each return
    forecast's standard error `forecast_se` and the direction models' `p_up_calibrated`, calibrated by
    `CalibratedClassifierCV` on each training window's forward-chaining inner splits),
    `prediction_calibration` (reliability tables of the raw and the calibrated P(up)),
    `prediction_lasso_path` (last training window) and `prediction_selected_features`.
    """
    config = run.config
    ensure_table(run.con, FEATURE_MATRIX)
    fm = read_sql_frame(run.con, load_sql("select_feature_matrix_all"), date_columns=["week_start", "target_week"])
    out, notes = compute_walk_forward(fm, config, log=run.log)

    def metadata(written) -> dict:
        meta = {
            "rows_per_table": md(frame_markdown(pd.DataFrame([{"table": t, "rows": w.inserted}
                                                               for t, w in written.items()]))),
            "parameters": md(f"schemes={list(config.schemes)}, models={list(config.models)}, "
                             f"min_train_periods={config.min_train_periods}, window_periods={config.window_periods}, "
                             f"embargo={config.embargo}, test_periods={config.test_periods}, "
                             f"n_inner_splits={config.n_inner_splits}, logit_lambdas={list(config.logit_lambdas)}, "
                             f"calibration_method={config.calibration_method}, "
                             f"calibration_bins={config.calibration_bins}, universe_only={config.universe_only}"),
        }
        if notes:
            meta["notes"] = md("\n".join(f"- {n}" for n in notes))
        return {**meta, **_plots(out)}

    return TableOutput(out, metadata=metadata)
