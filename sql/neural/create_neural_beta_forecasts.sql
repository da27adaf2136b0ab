-- Create neural_beta_forecasts: out-of-sample RMSE of return forecasts a_t + beta_t' f_t per method, market, with and without the Fama-French five factors.
CREATE TABLE IF NOT EXISTS neural_beta_forecasts (
    method       VARCHAR NOT NULL,  -- neural_mlp | rolling_ols
    model        VARCHAR NOT NULL,  -- single | joint
    market       VARCHAR NOT NULL,  -- FIAT | EQUITY | GOLD | ENERGY | JOINT
    ff5          BOOLEAN NOT NULL,  -- residual loadings on FF5 (rolling OLS over the previous ff_window months) added
    n            INTEGER NOT NULL,  -- coin-months compared (the same for every method of a market and ff5 setting)
    rmse         DOUBLE,            -- log return per month
    ff_window    INTEGER NOT NULL,  -- months of the FF5 residual regression
    first_month  DATE    NOT NULL,
    last_month   DATE    NOT NULL
);
