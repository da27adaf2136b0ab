-- Create prediction_walk_forward: overall walk-forward figures per window scheme and model (pooled over all test rows).
CREATE TABLE IF NOT EXISTS prediction_walk_forward (
    scheme              VARCHAR NOT NULL,   -- expanding | rolling training window
    model               VARCHAR NOT NULL,   -- ols | ridge | lasso | elastic_net | logit_l1 | logit_l2
    target              VARCHAR NOT NULL,   -- return (y_next) | direction (y_up)
    embargo             INTEGER NOT NULL,   -- weeks left out between the last training week and the test block
    test_periods        INTEGER NOT NULL,   -- weeks per test block (refit step)
    train_periods       INTEGER NOT NULL,   -- first (expanding) or every (rolling) training window length, weeks
    n_inner_splits      INTEGER NOT NULL,   -- forward-chaining CV splits inside each training window
    is_r2               DOUBLE,             -- mean over folds of the in-sample R-squared against the training mean
    is_r2_zero          DOUBLE,             -- same against a zero forecast
    oos_r2_zero         DOUBLE,             -- 1 - SSE / sum y^2 over all test rows
    oos_r2_mean         DOUBLE,             -- 1 - SSE / sum (y - training mean)^2 (Campbell-Thompson)
    direction_accuracy  DOUBLE,             -- share of test rows with the right sign (p > 0.5 for direction models)
    brier               DOUBLE,             -- mean (p - y_up)^2 (direction models)
    brier_calibrated    DOUBLE,             -- same for the calibrated P(up)
    log_loss            DOUBLE,             -- -mean [y_up log p + (1 - y_up) log(1 - p)] (direction models)
    log_loss_calibrated DOUBLE,             -- same for the calibrated P(up)
    sparsity            DOUBLE,             -- share of zero slopes over folds x features
    sign_consistency    DOUBLE,             -- mean over features of max(share > 0, share < 0) across folds
    ic_mean             DOUBLE,             -- mean per-week Spearman rank IC of forecast vs outcome
    ic_t                DOUBLE,             -- mean / (sd / sqrt(weeks))
    n_folds             INTEGER NOT NULL,
    n_test              INTEGER NOT NULL,   -- test rows (coin-weeks)
    n_features          INTEGER NOT NULL,
    features            VARCHAR NOT NULL,   -- comma-separated feature list
    first_test_week     DATE,
    last_test_week      DATE,
    ridge_lambdas       VARCHAR NOT NULL,   -- per-observation Ridge penalty grid
    logit_lambdas       VARCHAR NOT NULL,   -- per-observation logistic penalty grid (C = 1 / (lambda n))
    enet_l1_ratio       DOUBLE NOT NULL,    -- Elastic Net mixing
    n_alphas            INTEGER NOT NULL,   -- Lasso / Elastic Net path length
    calibration_method  VARCHAR NOT NULL,   -- sigmoid (Platt) | isotonic: CalibratedClassifierCV on the inner splits
    calibration_bins    INTEGER NOT NULL    -- equal-width bins of prediction_calibration
);
