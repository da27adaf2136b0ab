-- Insert rejected_rows: the staged bars that failed validation, with their reason and the row as JSON.
INSERT INTO rejected_rows BY NAME
SELECT
    'raw_klines_5m' AS dataset,
    $source AS source,
    symbol,
    CASE WHEN open_time >= $start AND open_time < $end THEN CAST(open_time AS DATE) ELSE CAST($start AS DATE) END
        AS partition_date,
    open_time AS event_time,
    reason,
    CAST(to_json({'symbol': symbol, 'open_time': open_time, 'open': open, 'high': high, 'low': low,
                  'close': close, 'volume': volume, 'turnover': turnover}) AS VARCHAR) AS raw,
    CAST(row_number() OVER (PARTITION BY symbol, open_time, reason ORDER BY input_order) AS INTEGER) AS occurrence
FROM staged_klines
WHERE reason IS NOT NULL;
