-- Create risk_model_validation_portfolios: per validated week, method and portfolio (weights known the day before the week), predicted sd, realised return and z = ret / sigma_pred.
CREATE TABLE IF NOT EXISTS risk_model_validation_portfolios (
    week_start      DATE    NOT NULL,
    method          VARCHAR NOT NULL,  -- factor | sample | shrunk | ewma
    portfolio       VARCHAR NOT NULL,  -- equal_weight, size_ls, momentum_ls, random_long_NN, random_ls_NN, min_variance
    portfolio_type  VARCHAR NOT NULL,  -- the portfolio without its number
    n_coins         INTEGER NOT NULL,  -- coins with a non-zero weight
    sigma_pred      DOUBLE,            -- sqrt(w' Sigma w), weekly
    ret             DOUBLE,            -- w' r, the week's realised excess return
    z               DOUBLE             -- ret / sigma_pred
);
