-- Insert rejected_rows: the staged funding settlements that failed validation, with their reason and the row as JSON.
INSERT INTO rejected_rows BY NAME
SELECT
    'raw_funding_rates' AS dataset,
    $source AS source,
    symbol,
    CASE WHEN funding_time >= $start AND funding_time < $end THEN CAST(funding_time AS DATE) ELSE CAST($start AS DATE) END
        AS partition_date,
    funding_time AS event_time,
    reason,
    CAST(to_json({'symbol': symbol, 'funding_time': funding_time, 'funding_rate': funding_rate,
                  'interval_hours': interval_hours}) AS VARCHAR) AS raw,
    CAST(row_number() OVER (PARTITION BY symbol, funding_time, reason ORDER BY input_order) AS INTEGER) AS occurrence
FROM staged_funding
WHERE reason IS NOT NULL;
