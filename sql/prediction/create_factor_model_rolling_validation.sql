-- Create factor_model_rolling_validation: rolling-window validation: betas fitted on window_weeks, evaluated on the next horizon_weeks.
CREATE TABLE IF NOT EXISTS factor_model_rolling_validation (
    train_start       DATE NOT NULL,
    train_end         DATE NOT NULL,
    test_start        DATE NOT NULL,
    test_end          DATE NOT NULL,
    n_coins           INTEGER NOT NULL,
    n_test_obs        INTEGER NOT NULL,
    r2_in_sample      DOUBLE,             -- pooled over coins
    r2_out_of_sample  DOUBLE,             -- 1 - SSE / SST (training-mean benchmark) with realised factors
    window_weeks      INTEGER NOT NULL,   -- training window
    horizon_weeks     INTEGER NOT NULL    -- test horizon
);
