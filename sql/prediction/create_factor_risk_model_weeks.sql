-- Create factor_risk_model_weeks: per week summary of the factor risk model and its reproduction check.
CREATE TABLE IF NOT EXISTS factor_risk_model_weeks (
    week_start                      DATE NOT NULL,
    asof_date                       DATE NOT NULL,
    window_days                     INTEGER NOT NULL,
    ddof                            INTEGER NOT NULL,
    n_coins                         INTEGER NOT NULL,
    n_complete_coins                INTEGER NOT NULL,   -- coins with a return on every factor day of the window
    n_factor_days                   INTEGER NOT NULL,   -- days with every daily factor of the model
    n_params_factor                 INTEGER NOT NULL,
    n_params_full                   INTEGER NOT NULL,
    mean_explained_ratio            DOUBLE,
    median_explained_ratio          DOUBLE,
    max_abs_diag_error              DOUBLE,             -- max |S_ii - Sigma_ii|, same-sample OLS (zero up to rounding)
    max_abs_offdiag_identity_error  DOUBLE,             -- max |(S - Sigma)_ij - (S_E)_ij|, i != j (zero up to rounding)
    max_abs_resid_cov               DOUBLE,             -- largest residual cross-covariance (what the model leaves out)
    relative_offdiag_error          DOUBLE,             -- ||offdiag(S - Sigma)||_F / ||offdiag(S)||_F
    max_sample_var                  DOUBLE,             -- largest sample variance (scale of the tolerance)
    reproduction_ok                 BOOLEAN,            -- risk_model.check_reproduction passed
    stored_diag_rel_error           DOUBLE,             -- max |total_var - sample_var| / sample_var over complete coins
    factors                         VARCHAR             -- the K daily factors of the week's model, comma-separated
);
