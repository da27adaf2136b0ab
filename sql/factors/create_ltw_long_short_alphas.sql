-- Create ltw_long_short_alphas: mean, CAPM and 3-factor alphas with Newey-West t of every ltw_replication long-short, on the LTW calendar.
CREATE TABLE IF NOT EXISTS ltw_long_short_alphas (
    characteristic       VARCHAR NOT NULL,
    weighting            VARCHAR NOT NULL,  -- ew | vw
    n_weeks              INTEGER NOT NULL,  -- LTW weeks with a long-short return
    mean                 DOUBLE,            -- mean weekly return (fraction)
    mean_t_nw            DOUBLE,            -- Newey-West t of the mean
    mean_nw_lags         INTEGER NOT NULL,
    capm_alpha           DOUBLE,            -- intercept on CMKT (fraction per week); NULL with < min_weeks common weeks
    capm_alpha_t         DOUBLE,            -- Newey-West t
    capm_beta            DOUBLE,
    capm_r2              DOUBLE,
    capm_weeks           INTEGER NOT NULL,  -- weeks with the long-short and CMKT
    capm_nw_lags         INTEGER,
    f3_alpha             DOUBLE,            -- intercept on CMKT, CSMB, CMOM (LTW-calendar factors of the same run)
    f3_alpha_t           DOUBLE,
    f3_beta_cmkt         DOUBLE,
    f3_beta_csmb         DOUBLE,
    f3_beta_cmom         DOUBLE,
    f3_r2                DOUBLE,
    f3_weeks             INTEGER NOT NULL,  -- weeks with the long-short and all three factors
    f3_nw_lags           INTEGER,
    ann_return           DOUBLE,            -- 52 x mean
    ann_vol              DOUBLE,
    sharpe               DOUBLE,
    max_drawdown         DOUBLE,
    lag_rule             VARCHAR NOT NULL,  -- Newey-West lag rule (4t100 | t14 | nw1994 | an integer), applied to each regression's T
    calendar             VARCHAR NOT NULL,  -- ltw
    return_rule          VARCHAR NOT NULL,  -- last_price | complete_week
    breakpoint_universe  VARCHAR NOT NULL,  -- all | investable
    investable_top_n     INTEGER NOT NULL,
    cmom_construction    VARCHAR NOT NULL,  -- double_sort | single_sort (the CMOM in f3)
    n_quantiles          INTEGER NOT NULL,
    vol_column           VARCHAR NOT NULL,
    rf_source            VARCHAR NOT NULL,  -- CMKT = VW market minus this rate
    first_week           DATE,
    last_week            DATE
);
