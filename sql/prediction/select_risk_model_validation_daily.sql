-- Select every daily_panel return as an excess return over the day's risk-free rate of factor_returns_daily, with the market cap, for risk_model_validation.
SELECT p.symbol, p.date, p.ret - f.rf AS excess_ret, p.market_cap
FROM daily_panel p JOIN factor_returns_daily f ON f.date = p.date
WHERE p.ret IS NOT NULL AND f.rf IS NOT NULL
ORDER BY p.date, p.symbol
