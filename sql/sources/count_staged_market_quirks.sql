-- Count quirks of the valid staged market rows that are kept but reported: zero or missing market caps and volumes.
SELECT
    count(*) FILTER (WHERE market_cap = 0) AS zero_market_cap,
    count(*) FILTER (WHERE market_cap IS NULL OR isnan(market_cap)) AS missing_market_cap,
    count(*) FILTER (WHERE total_volume = 0) AS zero_volume,
    count(*) FILTER (WHERE total_volume IS NULL OR isnan(total_volume)) AS missing_volume
FROM staged_markets
WHERE reason IS NULL;
