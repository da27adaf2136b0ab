-- Insert rejected_rows: the fetched bars of the (symbol, day)s whose stored bars are kept instead (ingest_guard.kept_because), so no fetched row disappears.
INSERT INTO rejected_rows BY NAME
SELECT
    'raw_klines_5m' AS dataset,
    k.source,
    k.symbol,
    CAST(k.open_time AS DATE) AS partition_date,
    k.open_time AS event_time,
    g.kept_because AS reason,
    CAST(to_json({'symbol': k.symbol, 'open_time': k.open_time, 'open': k.open, 'high': k.high, 'low': k.low,
                  'close': k.close, 'volume': k.volume, 'turnover': k.turnover}) AS VARCHAR) AS raw,
    CAST(1 AS INTEGER) AS occurrence
FROM raw_klines_5m AS k
JOIN ingest_guard AS g ON g.symbol = k.symbol AND g.day = CAST(k.open_time AS DATE)
WHERE k.open_time >= $start AND k.open_time < $end AND g.kept_because IS NOT NULL;
