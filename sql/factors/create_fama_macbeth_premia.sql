-- Create fama_macbeth_premia: Fama-MacBeth premia per spec and coefficient over all stored weeks (NW and Shanken t).
CREATE TABLE IF NOT EXISTS fama_macbeth_premia (
    spec              VARCHAR NOT NULL,  -- betas | characteristics
    coefficient       VARCHAR NOT NULL,
    mean              DOUBLE,            -- mean weekly gamma (fraction per week)
    std               DOUBLE,            -- sd of the weekly gammas (ddof 1)
    se                DOUBLE,            -- std / sqrt(n_periods)
    t                 DOUBLE,            -- mean / se
    nw_se             DOUBLE,            -- Newey-West (Bartlett) se, S / (T (T - 1))
    nw_t              DOUBLE,
    nw_lags           INTEGER NOT NULL,  -- lags used
    lag_rule          VARCHAR NOT NULL,  -- rule that chose them
    shanken_se        DOUBLE,            -- Shanken (1992) corrected se (betas spec only)
    shanken_t         DOUBLE,
    shanken_c         DOUBLE,            -- lambda' Sigma_f^-1 lambda (multiplies the variance)
    n_periods         INTEGER NOT NULL,  -- weeks
    annualised        DOUBLE,            -- 52 x mean
    periods_per_year  DOUBLE  NOT NULL,
    avg_cs_r2         DOUBLE,
    first_week        DATE,
    last_week         DATE,
    pooled_coef       DOUBLE,            -- pooled OLS coefficient over the same coin-weeks (equal to mean on a balanced panel with fixed regressors)
    dk_se             DOUBLE,            -- its Driscoll-Kraay (1998) se: Bartlett kernel with nw_lags lags on the weekly score sums
    dk_t              DOUBLE,
    pooled_n_obs      INTEGER            -- coin-weeks in the pooled regression
);
