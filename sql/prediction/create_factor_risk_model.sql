-- Create factor_risk_model: per week and coin, the factor risk model B Omega_f B' + D as of the week's last day.
CREATE TABLE IF NOT EXISTS factor_risk_model (
    week_start       DATE NOT NULL,      -- week (Monday)
    asof_date        DATE NOT NULL,      -- last day of the week: betas and factor window end here
    symbol           VARCHAR NOT NULL,
    beta_mkt         DOUBLE NOT NULL,    -- rolling beta on daily MKT (the betas of the factors the week's rolling regressions used)
    beta_size        DOUBLE NOT NULL,
    beta_mom         DOUBLE NOT NULL,
    total_var        DOUBLE,             -- model variance (B Omega_f B' + D)_ii (daily, fraction^2)
    systematic_var   DOUBLE,             -- (B Omega_f B')_ii
    resid_var        DOUBLE,             -- D_ii = SSR / (n_obs - ddof)
    explained_ratio  DOUBLE,             -- systematic_var / total_var
    sample_var       DOUBLE,             -- sample variance of the coin's daily excess returns over the window (ddof)
    n_obs            INTEGER NOT NULL,   -- days with a return in the window
    complete         BOOLEAN NOT NULL,   -- return on every factor day of the window (the model then reproduces sample_var exactly)
    window_days      INTEGER NOT NULL,   -- window of the betas and of Omega_f (calendar days)
    ddof             INTEGER NOT NULL,
    n_coins          INTEGER NOT NULL,   -- coins in the week's model
    n_params_factor  INTEGER NOT NULL,   -- N K + K (K + 1) / 2 + N
    n_params_full    INTEGER NOT NULL,   -- N (N + 1) / 2
    beta_vol         DOUBLE,             -- rolling beta on daily VOL (NULL when the week's model has no VOL)
    beta_fund        DOUBLE,             -- rolling beta on daily FUND (NULL without funding data)
    beta_chain       DOUBLE,             -- rolling beta on daily CHAIN (NULL without on-chain data)
    factors          VARCHAR             -- the K daily factors of the week's model (the rolling betas'), comma-separated
);
