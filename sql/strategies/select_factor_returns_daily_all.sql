-- Select the daily market, size and momentum factors (the strategies' factor regressions).
SELECT date, mkt, size, mom FROM factor_returns_daily;
