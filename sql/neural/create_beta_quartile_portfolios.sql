-- Create beta_quartile_portfolios: equal-weighted quartiles of coins sorted on their ex-ante beta for the holding month, with mean beta and excess return.
CREATE TABLE IF NOT EXISTS beta_quartile_portfolios (
    month_start         DATE    NOT NULL,  -- holding month (betas from data before it, returns of it)
    method              VARCHAR NOT NULL,  -- neural_mlp | rolling_ols
    model               VARCHAR NOT NULL,  -- single | joint
    market              VARCHAR NOT NULL,  -- sorting beta's market
    quartile            INTEGER NOT NULL,  -- 1 = lowest beta
    n_coins             INTEGER NOT NULL,
    mean_beta           DOUBLE,
    mean_excess_return  DOUBLE,            -- simple return of the month minus RF (fraction per month)
    rf_source           VARCHAR NOT NULL,  -- ff5 (French / simulated RF) | zero (no RF available)
    n_groups            INTEGER NOT NULL,
    min_coins           INTEGER NOT NULL   -- months with fewer sortable coins are skipped
);
