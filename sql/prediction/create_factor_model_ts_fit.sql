-- Create factor_model_ts_fit: per coin time-series OLS of weekly excess returns on CMKT, CSMB, CMOM.
CREATE TABLE IF NOT EXISTS factor_model_ts_fit (
    symbol            VARCHAR NOT NULL,
    n_obs             INTEGER NOT NULL,   -- weeks with a return
    alpha             DOUBLE,             -- intercept (fraction per week)
    beta_cmkt         DOUBLE,
    beta_csmb         DOUBLE,
    beta_cmom         DOUBLE,
    t_alpha           DOUBLE,             -- classical OLS t
    t_beta_cmkt       DOUBLE,
    t_beta_csmb       DOUBLE,
    t_beta_cmom       DOUBLE,
    r2                DOUBLE,             -- centred R-squared
    resid_var         DOUBLE,             -- SSE / (n - 4)
    alpha_annualised  DOUBLE,             -- 52 x alpha
    min_obs           INTEGER NOT NULL,
    construction      VARCHAR NOT NULL
);
