-- Select the equal-weighted mean daily_panel return per day of the coins with a return (the market proxy).
SELECT date, avg(ret) AS mkt FROM daily_panel WHERE ret IS NOT NULL GROUP BY date ORDER BY date
