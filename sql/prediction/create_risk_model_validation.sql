-- Create risk_model_validation: per validated week and covariance method, the out-of-sample scores of the forecast made the day before the week (prediction/risk_validation.py).
CREATE TABLE IF NOT EXISTS risk_model_validation (
    week_start                DATE    NOT NULL,  -- week t scored (Monday)
    method                    VARCHAR NOT NULL,  -- factor | sample | shrunk | ewma
    origin_date               DATE    NOT NULL,  -- last day of the estimation window (Sunday of week t-1)
    n_coins                   INTEGER NOT NULL,  -- coins complete over the window with all 7 daily returns of week t
    n_window_days             INTEGER NOT NULL,  -- days of the window with every daily factor
    loglik                    DOUBLE,            -- Gaussian log-likelihood of the week's return vector per coin (NULL: Sigma not positive definite)
    q_stat                    DOUBLE,            -- r' Sigma^-1 r / n_coins (1 = calibrated)
    qlike                     DOUBLE,            -- mean over coins of r^2/s^2 - ln(r^2/s^2) - 1
    var_error                 DOUBLE,            -- mean over coins of r^2 - s^2 (weekly)
    mean_pred_var             DOUBLE,            -- mean over coins of the forecast variance s^2 (weekly)
    mean_sq_ret               DOUBLE,            -- mean over coins of r^2
    shrinkage                 DOUBLE,            -- Ledoit-Wolf intensity (shrunk only)
    cs_r2                     DOUBLE,            -- R^2 of the week's returns on [1, betas of the origin] (factor only)
    max_abs_beta_diff_stored  DOUBLE,            -- factor only: max |beta - factor_risk_model's beta of the origin's week|
    max_rel_var_diff_stored   DOUBLE,            -- factor only: max |s^2 / horizon_days / total_var - 1| against factor_risk_model
    window_days               INTEGER NOT NULL,  -- calendar days of the estimation window
    horizon_days              INTEGER NOT NULL,  -- daily covariance x horizon_days = the week's
    ewma_lambda               DOUBLE  NOT NULL,  -- RiskMetrics decay of the ewma method (daily)
    ddof                      INTEGER NOT NULL,
    factors                   VARCHAR            -- the factor model's daily factors that week, comma-separated
);
