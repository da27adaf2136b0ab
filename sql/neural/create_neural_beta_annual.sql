-- Create neural_beta_annual: calendar-year mean ex-ante beta per method, model, coin and market.
CREATE TABLE IF NOT EXISTS neural_beta_annual (
    method     VARCHAR NOT NULL,  -- neural_mlp | rolling_ols
    model      VARCHAR NOT NULL,  -- single | joint
    coin       VARCHAR NOT NULL,
    market     VARCHAR NOT NULL,
    year       INTEGER NOT NULL,
    mean_beta  DOUBLE  NOT NULL
);
