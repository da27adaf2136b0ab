-- Create factor_model_monte_carlo: Monte Carlo study of beta and premium estimation error on simulated factor markets.
CREATE TABLE IF NOT EXISTS factor_model_monte_carlo (
    n_periods  INTEGER NOT NULL,   -- weeks simulated
    noise      DOUBLE NOT NULL,    -- idiosyncratic sd per week
    parameter  VARCHAR NOT NULL,   -- beta_k | premium_k
    bias       DOUBLE,             -- mean(estimate - truth)
    rmse       DOUBLE,
    se_theory  DOUBLE,             -- OLS theory noise / (sqrt(T) sd_f) (betas)
    reps       INTEGER NOT NULL,
    seed       INTEGER NOT NULL
);
