-- Create long_short_alphas: mean, NW t, CAPM and 3-factor alphas of every characteristic Qn - Q1 portfolio (LTW Table VIII style).
CREATE TABLE IF NOT EXISTS long_short_alphas (
    characteristic       VARCHAR NOT NULL,
    weighting            VARCHAR NOT NULL,  -- ew | vw
    n_weeks              INTEGER NOT NULL,
    mean                 DOUBLE,            -- mean weekly return (fraction)
    mean_t_nw            DOUBLE,
    capm_alpha           DOUBLE,            -- intercept on CMKT (fraction per week)
    capm_alpha_t         DOUBLE,            -- Newey-West t
    capm_beta            DOUBLE,
    f3_alpha             DOUBLE,            -- intercept on CMKT, CSMB, CMOM
    f3_alpha_t           DOUBLE,
    f3_beta_cmkt         DOUBLE,
    f3_beta_csmb         DOUBLE,
    f3_beta_cmom         DOUBLE,
    n_regression_weeks   INTEGER NOT NULL,
    ann_return           DOUBLE,            -- 52 x mean
    ann_vol              DOUBLE,
    sharpe               DOUBLE,
    max_drawdown         DOUBLE,
    nw_lags              INTEGER NOT NULL,
    lag_rule             VARCHAR NOT NULL,
    construction         VARCHAR NOT NULL,  -- CMOM construction of the factors
    breakpoint_universe  VARCHAR NOT NULL,
    first_week           DATE,
    last_week            DATE
);
