-- Create risk_model_validation_summary: per covariance method, scope (portfolio type, coins, cross_section) and statistic, the validation's figures over all weeks.
CREATE TABLE IF NOT EXISTS risk_model_validation_summary (
    method     VARCHAR NOT NULL,  -- factor | sample | shrunk | ewma
    scope      VARCHAR NOT NULL,  -- a portfolio type, coins (each coin a portfolio) or cross_section
    statistic  VARCHAR NOT NULL,  -- bias_stat, bias_band, in_band_share, mean_z, exceed_rate, qlike, var_error, predicted_vol, realised_vol, loglik, q_stat, cs_r2, shrinkage, best_loglik_share
    value      DOUBLE,
    n_obs      BIGINT  NOT NULL,  -- portfolios, z values or weeks behind the value (see detail)
    detail     VARCHAR NOT NULL
);
