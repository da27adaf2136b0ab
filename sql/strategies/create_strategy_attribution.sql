-- Create strategy_attribution: each strategy's daily net return split into factor parts (mkt, size, mom), alpha and residual.
CREATE TABLE IF NOT EXISTS strategy_attribution (
    family    VARCHAR NOT NULL,
    strategy  VARCHAR NOT NULL,
    date      DATE NOT NULL,
    net       DOUBLE NOT NULL,   -- the day's net return = mkt_part + size_part + mom_part + alpha + residual
    mkt_part  DOUBLE,            -- beta_mkt x mkt of the day (full-sample betas: an in-sample split)
    size_part DOUBLE,
    mom_part  DOUBLE,
    alpha     DOUBLE,            -- the regression's intercept (per day)
    residual  DOUBLE
);
