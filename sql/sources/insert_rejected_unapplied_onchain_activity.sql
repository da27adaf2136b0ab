-- Insert rejected_rows: the fetched on-chain rows of the (symbol, date)s whose stored ones are kept instead (ingest_guard.kept_because), so no fetched row disappears.
INSERT INTO rejected_rows BY NAME
SELECT
    'raw_onchain_activity' AS dataset,
    o.source,
    o.symbol,
    o.date AS partition_date,
    CAST(o.date AS TIMESTAMP) AS event_time,
    g.kept_because AS reason,
    CAST(to_json({'date': o.date, 'symbol': o.symbol, 'coin': o.coin, 'active_addresses': o.active_addresses,
                  'tx_count': o.tx_count}) AS VARCHAR) AS raw,
    CAST(1 AS INTEGER) AS occurrence
FROM raw_onchain_activity AS o
JOIN ingest_guard AS g ON g.symbol = o.symbol AND g.day = o.date
WHERE o.date >= CAST($start AS DATE) AND o.date < CAST($end AS DATE) AND g.kept_because IS NOT NULL;
