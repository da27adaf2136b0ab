-- Summarize universe_membership per ISO week: eligible coin-days and the coin-days left out by reason (asset metadata).
SELECT CAST(date_trunc('week', date) AS DATE) AS week_start,
       count(*) FILTER (WHERE eligible) AS eligible,
       count(*) FILTER (WHERE reason = 'no_data') AS no_data,
       count(*) FILTER (WHERE reason = 'no_market_cap') AS no_market_cap,
       count(*) FILTER (WHERE reason = 'below_min_cap') AS below_min_cap,
       count(*) FILTER (WHERE reason = 'no_return') AS no_return,
       count(*) FILTER (WHERE reason = 'no_volume') AS no_volume
FROM universe_membership GROUP BY ALL ORDER BY week_start;
