-- Select the coins of factor_model_ts_fit with a fitted time-series regression (r2 defined).
SELECT * FROM factor_model_ts_fit WHERE r2 IS NOT NULL;
