-- Create temp table ingest_new_keys: the keys of the valid bars the fetch stored in raw_klines_5m's window [$start, $end), in the fetch guard's shape (symbol, event_time, UTC day).
CREATE OR REPLACE TEMP TABLE ingest_new_keys AS
SELECT symbol, open_time AS event_time, CAST(open_time AS DATE) AS day
FROM raw_klines_5m WHERE open_time >= $start AND open_time < $end;
