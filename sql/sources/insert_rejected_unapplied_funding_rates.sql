-- Insert rejected_rows: the fetched settlements of the (symbol, day)s whose stored ones are kept instead (ingest_guard.kept_because), so no fetched row disappears.
INSERT INTO rejected_rows BY NAME
SELECT
    'raw_funding_rates' AS dataset,
    f.source,
    f.symbol,
    CAST(f.funding_time AS DATE) AS partition_date,
    f.funding_time AS event_time,
    g.kept_because AS reason,
    CAST(to_json({'symbol': f.symbol, 'funding_time': f.funding_time, 'funding_rate': f.funding_rate,
                  'interval_hours': f.interval_hours}) AS VARCHAR) AS raw,
    CAST(1 AS INTEGER) AS occurrence
FROM raw_funding_rates AS f
JOIN ingest_guard AS g ON g.symbol = f.symbol AND g.day = CAST(f.funding_time AS DATE)
WHERE f.funding_time >= $start AND f.funding_time < $end AND g.kept_because IS NOT NULL;
