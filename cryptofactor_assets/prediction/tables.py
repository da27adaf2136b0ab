"""Table keys of the prediction domain (other domains import them from here)."""

FEATURE_MATRIX = "feature_matrix"
PREDICTION_WALK_FORWARD = "prediction_walk_forward"
PREDICTION_FOLDS = "prediction_folds"
MODEL_COMPARISON = "model_comparison"
PREDICTION_COEFFICIENTS = "prediction_coefficients"
PREDICTION_STABILITY = "prediction_coef_stability"
PREDICTION_FORECASTS = "prediction_forecasts"
PREDICTION_CALIBRATION = "prediction_calibration"
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
RISK_MODEL_VALIDATION = "risk_model_validation"
RISK_MODEL_VALIDATION_PORTFOLIOS = "risk_model_validation_portfolios"
RISK_MODEL_VALIDATION_SUMMARY = "risk_model_validation_summary"

#: The tables ``prediction_walk_forward`` writes (its own first), in write order.
WALK_FORWARD_TABLES = (PREDICTION_WALK_FORWARD, MODEL_COMPARISON, PREDICTION_FOLDS, PREDICTION_COEFFICIENTS,
                       PREDICTION_STABILITY, PREDICTION_FORECASTS, PREDICTION_CALIBRATION, PREDICTION_LASSO_PATH,
                       PREDICTION_SELECTED)
#: The tables ``factor_model_diagnostics`` writes (its own first), in write order.
DIAGNOSTICS_TABLES = (FACTOR_MODEL_DIAGNOSTICS, FM_TS_FIT, FM_CS_R2, FM_LOADINGS, FM_RESIDUAL_TESTS, FM_ROLLING,
                      FM_REGIMES, FM_PREDICTION_REGIMES, FM_MONTE_CARLO)
#: The tables ``risk_model_validation`` writes (its own first), in write order.
RISK_VALIDATION_TABLES = (RISK_MODEL_VALIDATION, RISK_MODEL_VALIDATION_PORTFOLIOS, RISK_MODEL_VALIDATION_SUMMARY)
