-- Insert rejected_rows: the fetched snapshots of the (symbol, date)s whose stored ones are kept instead (ingest_guard.kept_because), so no fetched row disappears.
INSERT INTO rejected_rows BY NAME
SELECT
    'raw_coin_markets' AS dataset,
    m.source,
    m.symbol,
    m.date AS partition_date,
    CAST(m.date AS TIMESTAMP) AS event_time,
    g.kept_because AS reason,
    CAST(to_json({'coin_id': m.coin_id, 'symbol': m.symbol, 'date': m.date, 'price': m.price,
                  'market_cap': m.market_cap, 'total_volume': m.total_volume}) AS VARCHAR) AS raw,
    CAST(1 AS INTEGER) AS occurrence
FROM raw_coin_markets AS m
JOIN ingest_guard AS g ON g.symbol = m.symbol AND g.day = m.date
WHERE m.date >= CAST($start AS DATE) AND m.date < CAST($end AS DATE) AND g.kept_because IS NOT NULL;
