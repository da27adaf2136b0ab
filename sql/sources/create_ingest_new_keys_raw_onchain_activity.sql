-- Create temp table ingest_new_keys: the keys of the valid on-chain rows the fetch stored in raw_onchain_activity's window [$start, $end), in the fetch guard's shape (symbol, event_time, UTC day = date).
CREATE OR REPLACE TEMP TABLE ingest_new_keys AS
SELECT symbol, CAST(date AS TIMESTAMP) AS event_time, date AS day
FROM raw_onchain_activity WHERE date >= CAST($start AS DATE) AND date < CAST($end AS DATE);
