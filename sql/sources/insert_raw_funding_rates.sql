-- Insert raw_funding_rates: the valid staged settlements; a NaN interval is stored as NULL (unknown).
INSERT INTO raw_funding_rates BY NAME
SELECT
    symbol, funding_time, funding_rate,
    CASE WHEN NOT isnan(interval_hours) THEN interval_hours END AS interval_hours,
    $source AS source
FROM staged_funding
WHERE reason IS NULL;
