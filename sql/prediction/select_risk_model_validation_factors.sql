-- Select the daily MKT, SIZE, MOM, VOL, FUND, CHAIN of every stored day for risk_model_validation (NULL factors: not a factor day, or a factor without input).
SELECT date, mkt, size, mom, vol, fund, chain FROM factor_returns_daily ORDER BY date
