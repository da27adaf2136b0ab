"""Quality checks of the prediction and factor-model validation tables (names are module constants).

Every table has a blocking unique-key check and a finite-values check (``lib.checks.TableChecks``);
the specific checks below verify what the tables promise: targets consistent with the returns, folds
that never touch their test period, a risk model that reproduces the sample covariance it was built from.
An asset that writes several tables also checks the tables beside its own (``checks_of``).
Statements are in ``sql/prediction/count_*.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from cryptofactor_assets.lib.checks import ExtraCheck, TableChecks
from cryptofactor_assets.prediction import tables as t
from cryptofactor_assets.storage import quality
from cryptofactor_assets.storage.quality import CheckOutcome
from cryptofactor_assets.storage.warehouse import load_sql

FEATURE_TARGETS = "feature_matrix_targets_consistent"
FOLDS_NO_OVERLAP = "prediction_folds_train_before_test"
RISK_REPRODUCTION = "factor_risk_model_reproduces_sample_covariance"
RISK_RATIO_RANGE = "factor_risk_model_explained_ratio_in_unit_interval"
PCA_RATIO_SUM = "pca_explained_ratio_at_most_one"
RISK_VALIDATION_STORED = "risk_model_validation_factor_forecast_equals_factor_risk_model"
RISK_VALIDATION_ORIGINS = "risk_model_validation_forecasts_before_the_week"

#: Relative tolerance of the reproduction check (max error / largest sample variance of the week).
REPRODUCTION_RTOL = 1e-8
#: Tolerance of risk_model_validation's factor forecast against the stored factor_risk_model (absolute on
#: the betas, relative on the variances; the two agree to ~1e-14 on the demo).
RISK_VALIDATION_TOL = 1e-8


def _count(con, name: str, params=None) -> int:
    return int(con.execute(load_sql(name), params or {}).fetchone()[0])


def _none_counted(name: str, what: str, windowed: bool = True):
    """A check outcome: passes when the statement ``name`` counts no rows (``{n} {what}`` otherwise);
    ``windowed``: the statement reads the checked partition's ``start`` and ``end``."""
    def outcome(con, _table=None, _column=None, start=None, end=None) -> CheckOutcome:
        n = _count(con, name, {"start": start, "end": end} if windowed else None)
        return CheckOutcome(n == 0, n, f"{n} {what}")
    return outcome


_feature_targets = _none_counted("count_feature_target_inconsistencies", "rows with inconsistent targets")
_folds = _none_counted("count_prediction_fold_overlaps",
                       "folds whose training window reaches into the embargo or the test block", windowed=False)
_risk_ratio = _none_counted("count_risk_model_ratio_out_of_range", "rows out of range")
_pca_ratio = _none_counted("count_pca_ratio_out_of_range", "components out of range", windowed=False)


def _risk_reproduction(con, _table, _column, start, end) -> CheckOutcome:
    window = {"start": start, "end": end}
    bad = _count(con, "count_risk_model_unreproduced_weeks", {**window, "rtol": REPRODUCTION_RTOL})
    worst = con.execute(load_sql("select_risk_model_worst_errors"), window).fetchone()
    return CheckOutcome(bad == 0, bad, f"{bad} weeks not reproduced; worst relative diagonal error {worst[0]}, "
                                       f"worst stored relative variance error {worst[1]}")


def _risk_validation_stored(con, *_) -> CheckOutcome:
    bad, compared = con.execute(load_sql("count_risk_model_validation_unmatched_weeks"),
                                {"tol": RISK_VALIDATION_TOL}).fetchone()
    return CheckOutcome(bad == 0, int(bad), f"{bad} of {compared} weeks compared with factor_risk_model differ "
                                            f"by more than {RISK_VALIDATION_TOL:g}")


_risk_validation_origins = _none_counted("count_risk_model_validation_late_origins",
                                         "rows whose forecast origin is not before the scored week", windowed=False)


def checks_of(other: TableChecks) -> tuple[ExtraCheck, ...]:
    """The unique-key and finite-values checks of an unpartitioned table ``other`` as checks of the asset
    that writes it beside its own table (same names, descriptions and blocking)."""
    out = [ExtraCheck(other.unique_name, f"({', '.join(other.key)}) unique", blocking=True,
                      outcome=lambda con, *_: quality.unique_key(con, other.table, list(other.key), None, None, None))]
    if other.finite:
        out.append(ExtraCheck(other.finite_name, f"{', '.join(other.finite)} finite where defined",
                              outcome=lambda con, *_: quality.finite(con, other.table, list(other.finite),
                                                                     None, None, None)))
    return tuple(out)


@dataclass(frozen=True)
class OtherTableChecks:
    """The checks of an unpartitioned asset whose own table has none: only the ``extra`` checks (of the
    tables it writes beside it), attached to the asset ``table``. Used as ``table_asset``'s checks."""

    table: str
    extra: tuple[ExtraCheck, ...]
    window_column = None

    def specs(self) -> list[dg.AssetCheckSpec]:
        return [check.spec(self.table) for check in self.extra]

    def results(self, con, start=None, end=None) -> list[dg.AssetCheckResult]:
        return [check.result(con, self.table) for check in self.extra]


FEATURE_MATRIX = TableChecks(
    t.FEATURE_MATRIX, ("symbol", "week_start"), "week_start",
    ("mcap", "r1_0", "beta_mkt", "rvol_1w", "rvol_4w", "illiq", "turnover", "dvol_growth", "rsj_1w", "y_next"),
    extra=(ExtraCheck(FEATURE_TARGETS, "target_week = week_start + 7 days, y_up = (y_next > 0) where y_next "
                                       "is defined, y_next = ret_next - rf_next", _feature_targets),),
)
MODEL_COMPARISON = TableChecks(
    t.MODEL_COMPARISON, ("scheme", "model"), None, ("direction_accuracy", "sparsity", "stability"),
)
PREDICTION_CALIBRATION = TableChecks(
    t.PREDICTION_CALIBRATION, ("scheme", "model", "kind", "bin"), None,
    ("bin_lower", "bin_upper", "mean_predicted", "realised_freq"),
)
PREDICTION_FOLDS = TableChecks(
    t.PREDICTION_FOLDS, ("scheme", "model", "fold"), None, ("direction_accuracy", "sparsity"),
)
PREDICTION_WALK_FORWARD = TableChecks(
    t.PREDICTION_WALK_FORWARD, ("scheme", "model"), None, ("direction_accuracy", "sparsity", "sign_consistency"),
    extra=(*checks_of(MODEL_COMPARISON), *checks_of(PREDICTION_CALIBRATION),
           ExtraCheck(FOLDS_NO_OVERLAP, "every fold trains strictly before its test block, with at least "
                                        "`embargo` weeks between the last training week and the first test week",
                      _folds, blocking=True)),
)
FACTOR_RISK_MODEL = TableChecks(
    t.FACTOR_RISK_MODEL, ("week_start", "symbol"), "week_start",
    ("total_var", "systematic_var", "resid_var", "explained_ratio"),
    extra=(
        ExtraCheck(RISK_REPRODUCTION,
                   "per week, B S_F B' + diag(S_E) from same-sample OLS reproduces the sample covariance of the "
                   "complete coins: diagonal exactly, off-diagonal up to the residual cross-covariance "
                   "(risk_model.check_reproduction); and the stored model's variance equals the sample variance "
                   f"of every complete coin (relative tolerance {REPRODUCTION_RTOL:g})", _risk_reproduction),
        ExtraCheck(RISK_RATIO_RANGE, "0 <= explained_ratio <= 1 and resid_var >= 0", _risk_ratio),
    ),
)
PCA_EXPLAINED = TableChecks(
    t.PCA_EXPLAINED, ("component",), None, ("eigenvalue", "explained_ratio", "cumulative_ratio"),
)
PCA_FACTORS = OtherTableChecks(t.PCA_FACTORS, (
    *checks_of(PCA_EXPLAINED),
    ExtraCheck(PCA_RATIO_SUM, "explained ratios in [0, 1], cumulative ratio <= 1", _pca_ratio),
))
FACTOR_MODEL_DIAGNOSTICS = TableChecks(t.FACTOR_MODEL_DIAGNOSTICS, ("section", "metric"), None, ("value",))
METRICS_DASHBOARD = TableChecks(t.METRICS_DASHBOARD, ("section", "metric"), None, ("value",))
RISK_MODEL_VALIDATION_PORTFOLIOS = TableChecks(
    t.RISK_MODEL_VALIDATION_PORTFOLIOS, ("week_start", "method", "portfolio"), None, ("sigma_pred", "ret", "z"),
)
RISK_MODEL_VALIDATION_SUMMARY = TableChecks(
    t.RISK_MODEL_VALIDATION_SUMMARY, ("method", "scope", "statistic"), None, ("value",),
)
RISK_MODEL_VALIDATION = TableChecks(
    t.RISK_MODEL_VALIDATION, ("week_start", "method"), None,
    ("loglik", "q_stat", "qlike", "var_error", "mean_pred_var", "mean_sq_ret", "cs_r2"),
    extra=(*checks_of(RISK_MODEL_VALIDATION_PORTFOLIOS), *checks_of(RISK_MODEL_VALIDATION_SUMMARY),
           ExtraCheck(RISK_VALIDATION_ORIGINS, "every forecast's origin (the last day of its estimation window) is "
                                               "before the week it is scored on", _risk_validation_origins,
                      blocking=True),
           ExtraCheck(RISK_VALIDATION_STORED, "the factor forecast's betas and variances equal the stored "
                                              "factor_risk_model of the origin's week (same window) within "
                                              f"{RISK_VALIDATION_TOL:g}, where that week is stored",
                      _risk_validation_stored)),
)
