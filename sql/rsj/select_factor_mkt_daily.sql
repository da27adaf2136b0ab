-- Select the daily market factor (factor_returns_daily.mkt) where defined, by day.
SELECT date, mkt FROM factor_returns_daily WHERE mkt IS NOT NULL ORDER BY date
