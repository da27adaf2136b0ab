-- Create factor_model_cs_r2: per week cross-sectional OLS of excess returns on [1, full-sample betas].
CREATE TABLE IF NOT EXISTS factor_model_cs_r2 (
    week_start       DATE NOT NULL,
    n_coins          INTEGER NOT NULL,
    r2               DOUBLE,
    gamma_0          DOUBLE,             -- intercept
    gamma_beta_cmkt  DOUBLE,             -- slope on beta_cmkt
    gamma_beta_csmb  DOUBLE,
    gamma_beta_cmom  DOUBLE
);
