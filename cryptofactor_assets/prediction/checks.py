"""Quality checks of the prediction and factor-model validation tables (names are module constants).

Every table has a blocking unique-key check and a finite-values check (``factors.checks.TableChecks``);
the specific checks below verify what the tables promise: targets consistent with the returns, folds
that never touch their test period, a risk model that reproduces the sample covariance it was built from.
"""

from __future__ import annotations

import dagster as dg

from cryptofactor_assets.common import check_result
from cryptofactor_assets.factors.checks import TableChecks
from cryptofactor_assets.storage.quality import CheckOutcome

FEATURE_MATRIX = TableChecks(
    "feature_matrix", ("symbol", "week_start"), "week_start",
    ("mcap", "r1_0", "beta_mkt", "rvol_1w", "rvol_4w", "illiq", "turnover", "dvol_growth", "rsj_1w", "y_next"),
)
PREDICTION_WALK_FORWARD = TableChecks(
    "prediction_walk_forward", ("scheme", "model"), None, ("direction_accuracy", "sparsity", "sign_consistency"),
)
PREDICTION_FOLDS = TableChecks(
    "prediction_folds", ("scheme", "model", "fold"), None, ("direction_accuracy", "sparsity"),
)
MODEL_COMPARISON = TableChecks(
    "model_comparison", ("scheme", "model"), None, ("direction_accuracy", "sparsity", "stability"),
)
FACTOR_RISK_MODEL = TableChecks(
    "factor_risk_model", ("week_start", "symbol"), "week_start",
    ("total_var", "systematic_var", "resid_var", "explained_ratio"),
)
PCA_EXPLAINED = TableChecks(
    "pca_explained", ("component",), None, ("eigenvalue", "explained_ratio", "cumulative_ratio"),
)
FACTOR_MODEL_DIAGNOSTICS = TableChecks("factor_model_diagnostics", ("section", "metric"), None, ("value",))
METRICS_DASHBOARD = TableChecks("metrics_dashboard", ("section", "metric"), None, ("value",))

FEATURE_TARGETS = "feature_matrix_targets_consistent"
FOLDS_NO_OVERLAP = "prediction_folds_train_before_test"
RISK_REPRODUCTION = "factor_risk_model_reproduces_sample_covariance"
RISK_RATIO_RANGE = "factor_risk_model_explained_ratio_in_unit_interval"
PCA_RATIO_SUM = "pca_explained_ratio_at_most_one"

#: Relative tolerance of the reproduction check (max error / largest sample variance of the week).
REPRODUCTION_RTOL = 1e-8


def _count(con, sql: str, params=()) -> int:
    return int(con.execute(sql, list(params)).fetchone()[0])


def feature_targets_spec() -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(FEATURE_TARGETS, asset=FEATURE_MATRIX.table,
                             description="target_week = week_start + 7 days, y_up = (y_next > 0) where y_next "
                                         "is defined, y_next = ret_next - rf_next")


def feature_targets_result(con, start, end) -> dg.AssetCheckResult:
    n = _count(con, "SELECT count(*) FROM feature_matrix WHERE week_start >= ? AND week_start < ? AND ("
                    "target_week <> week_start + 7 OR (y_next IS NOT NULL AND y_up IS DISTINCT FROM (y_next > 0)) "
                    "OR (y_next IS NULL AND y_up IS NOT NULL) "
                    "OR abs(coalesce(y_next - (ret_next - rf_next), 0)) > 1e-12)", [start, end])
    return check_result(FEATURE_TARGETS, CheckOutcome(n == 0, n, f"{n} rows with inconsistent targets"))


def folds_spec() -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(FOLDS_NO_OVERLAP, asset="prediction_walk_forward", blocking=True,
                             description="every fold trains strictly before its test block, with at least "
                                         "`embargo` weeks between the last training week and the first test week")


def folds_result(con) -> dg.AssetCheckResult:
    n = _count(con, "SELECT count(*) FROM prediction_folds WHERE "
                    "date_diff('day', train_end, test_start) < 7 * (embargo + 1) OR test_end < test_start")
    return check_result(FOLDS_NO_OVERLAP, CheckOutcome(n == 0, n, f"{n} folds whose training window reaches "
                                                                  "into the embargo or the test block"))


def risk_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(RISK_REPRODUCTION, asset=FACTOR_RISK_MODEL.table,
                          description="per week, B S_F B' + diag(S_E) from same-sample OLS reproduces the "
                                      "sample covariance of the complete coins: diagonal exactly, off-diagonal "
                                      "up to the residual cross-covariance (risk_model.check_reproduction); and "
                                      "the stored model's variance equals the sample variance of every complete "
                                      f"coin (relative tolerance {REPRODUCTION_RTOL:g})"),
        dg.AssetCheckSpec(RISK_RATIO_RANGE, asset=FACTOR_RISK_MODEL.table,
                          description="0 <= explained_ratio <= 1 and resid_var >= 0"),
    ]


def risk_results(con, start, end) -> list[dg.AssetCheckResult]:
    bad = _count(con, "SELECT count(*) FROM factor_risk_model_weeks WHERE week_start >= ? AND week_start < ? "
                      "AND n_complete_coins >= 2 AND (NOT reproduction_ok OR stored_diag_rel_error > ?)",
                 [start, end, REPRODUCTION_RTOL])
    worst = con.execute("SELECT max(max_abs_diag_error / nullif(max_sample_var, 0)), max(stored_diag_rel_error) "
                        "FROM factor_risk_model_weeks WHERE week_start >= ? AND week_start < ?",
                        [start, end]).fetchone()
    out = check_result(RISK_REPRODUCTION, CheckOutcome(
        bad == 0, bad, f"{bad} weeks not reproduced; worst relative diagonal error {worst[0]}, worst stored "
                       f"relative variance error {worst[1]}"))
    n = _count(con, "SELECT count(*) FROM factor_risk_model WHERE week_start >= ? AND week_start < ? AND "
                    "(explained_ratio < -1e-12 OR explained_ratio > 1 + 1e-12 OR resid_var < 0)", [start, end])
    return [out, check_result(RISK_RATIO_RANGE, CheckOutcome(n == 0, n, f"{n} rows out of range"))]


def pca_spec() -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(PCA_RATIO_SUM, asset="pca_factors",
                             description="explained ratios in [0, 1], cumulative ratio <= 1")


def pca_result(con) -> dg.AssetCheckResult:
    n = _count(con, "SELECT count(*) FROM pca_explained WHERE explained_ratio < 0 OR cumulative_ratio > 1 + 1e-12")
    return check_result(PCA_RATIO_SUM, CheckOutcome(n == 0, n, f"{n} components out of range"))


def table_specs(checks: TableChecks, asset: str) -> list[dg.AssetCheckSpec]:
    """``TableChecks.specs`` attached to ``asset`` (tables written by an asset of another name)."""
    return [dg.AssetCheckSpec(s.name, asset=asset, blocking=s.blocking, description=s.description)
            for s in checks.specs()]
