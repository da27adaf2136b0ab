-- Select the largest coins: the $n symbols with rolling betas and the largest last known market cap on or before $as_of.
SELECT p.symbol, arg_max(p.market_cap, p.date) AS market_cap, max(p.date) AS cap_date
FROM daily_panel AS p
WHERE p.date <= $as_of
  AND p.market_cap IS NOT NULL
  AND p.symbol IN (SELECT DISTINCT symbol FROM rolling_betas)
GROUP BY p.symbol
ORDER BY market_cap DESC, p.symbol
LIMIT $n
