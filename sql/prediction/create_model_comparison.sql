-- Create model_comparison: the chapter's Section 9 comparison table, one row per window scheme and model.
CREATE TABLE IF NOT EXISTS model_comparison (
    scheme              VARCHAR NOT NULL,   -- expanding | rolling
    model               VARCHAR NOT NULL,
    target              VARCHAR NOT NULL,   -- return | direction
    is_r2               DOUBLE,             -- in-sample R-squared (training mean benchmark), mean over folds
    oos_r2_zero         DOUBLE,             -- out-of-sample R-squared against a zero forecast
    oos_r2_mean         DOUBLE,             -- out-of-sample R-squared against the historical (training) mean
    direction_accuracy  DOUBLE,             -- share of correctly signed forecasts
    brier               DOUBLE,             -- Brier score of P(up) (direction models)
    brier_calibrated    DOUBLE,             -- Brier score of the calibrated P(up)
    log_loss            DOUBLE,             -- log-loss of P(up) (direction models)
    log_loss_calibrated DOUBLE,             -- log-loss of the calibrated P(up)
    sparsity            DOUBLE,             -- share of zero coefficients
    stability           DOUBLE,             -- sign consistency of coefficients across folds (1 = always the same sign)
    ic_mean             DOUBLE,             -- mean Spearman IC per week
    ic_t                DOUBLE,             -- t-stat of the weekly IC
    n_folds             INTEGER NOT NULL,
    n_test              INTEGER NOT NULL
);
