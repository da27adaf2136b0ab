-- Select the stored rolling market betas, their standard errors, R² and parameters (the regime signals).
SELECT symbol, date, beta_mkt, beta_mkt_se, r2, window_days, min_obs, se_type FROM rolling_betas ORDER BY symbol, date;
