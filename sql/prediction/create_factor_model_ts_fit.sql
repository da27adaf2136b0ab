-- Create factor_model_ts_fit: per coin time-series OLS of weekly excess returns on CMKT, CSMB, CMOM.
CREATE TABLE IF NOT EXISTS factor_model_ts_fit (
    symbol            VARCHAR NOT NULL,
    n_obs             INTEGER NOT NULL,   -- weeks with a return
    alpha             DOUBLE,             -- intercept (fraction per week)
    beta_cmkt         DOUBLE,
    beta_csmb         DOUBLE,
    beta_cmom         DOUBLE,
    t_alpha           DOUBLE,             -- t with se of type se_type (Newey-West by default)
    t_beta_cmkt       DOUBLE,
    t_beta_csmb       DOUBLE,
    t_beta_cmom       DOUBLE,
    r2                DOUBLE,             -- centred R-squared
    resid_var         DOUBLE,             -- SSE / (n - 4)
    alpha_annualised  DOUBLE,             -- 52 x alpha
    min_obs           INTEGER NOT NULL,
    construction      VARCHAR NOT NULL,
    se_type           VARCHAR,            -- standard errors of the t's: hac (Newey-West) | white (HC0) | hc1 | hc3 | classical
    nw_lags           INTEGER,            -- Newey-West lags of this coin (rule on its weeks; 0 for white / hc1 / hc3, NULL for classical)
    mean_alpha        DOUBLE,             -- cross-sectional mean of the fitted coins' alphas (same on every row)
    mean_alpha_se     DOUBLE,             -- its se: Newey-West long-run sum of each week's influence on the mean (Driscoll-Kraay type)
    mean_alpha_t      DOUBLE,             -- mean_alpha / mean_alpha_se (= NW t of the EW portfolio's alpha on a balanced panel)
    mean_alpha_lags   INTEGER,            -- Newey-West lags of mean_alpha_se (rule on the number of weeks)
    n_alpha_coins     INTEGER             -- fitted coins in the mean
);
