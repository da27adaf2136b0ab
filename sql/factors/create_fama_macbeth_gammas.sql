-- Create fama_macbeth_gammas: per-week cross-sectional OLS slopes of weekly excess returns on lagged betas or characteristics.
CREATE TABLE IF NOT EXISTS fama_macbeth_gammas (
    week_start      DATE    NOT NULL,  -- week t of the returns (the partition)
    formation_week  DATE    NOT NULL,  -- week t-1 (characteristics; betas as of its last day)
    spec            VARCHAR NOT NULL,  -- betas | characteristics
    coefficient     VARCHAR NOT NULL,  -- const, beta_mkt, ... or mcap, r3_0, ...
    gamma           DOUBLE  NOT NULL,  -- slope (fraction per week per unit of regressor; characteristics per 1 SD)
    cs_r2           DOUBLE,            -- cross-sectional R-squared of the week
    n_coins         INTEGER NOT NULL,  -- coins in the regression
    regressors      VARCHAR NOT NULL,  -- comma-separated regressors of the spec
    standardised    BOOLEAN NOT NULL,  -- regressors z-scored cross-sectionally each week
    min_coins       INTEGER NOT NULL,  -- weeks with fewer coins are skipped
    xtx_row         VARCHAR            -- row of this coefficient in the week's X'X (sum over coins of z z', z = [1, regressors] in the order const, regressors), comma-separated exact reprs: with the gammas it gives the pooled OLS and its Driscoll-Kraay se
);
