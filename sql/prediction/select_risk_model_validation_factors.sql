-- Select the daily MKT, SIZE, MOM of every stored day for risk_model_validation (NULL factors: not a factor day).
SELECT date, mkt, size, mom FROM factor_returns_daily ORDER BY date
