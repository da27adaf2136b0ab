-- Count risk_model_validation rows whose forecast origin is not before the week it scores (a look-ahead).
SELECT count(*) FROM risk_model_validation WHERE origin_date >= week_start
