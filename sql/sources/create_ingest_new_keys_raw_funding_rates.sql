-- Create temp table ingest_new_keys: the keys of the valid settlements the fetch stored in raw_funding_rates's window [$start, $end), in the fetch guard's shape (symbol, event_time, UTC day).
CREATE OR REPLACE TEMP TABLE ingest_new_keys AS
SELECT symbol, funding_time AS event_time, CAST(funding_time AS DATE) AS day
FROM raw_funding_rates WHERE funding_time >= $start AND funding_time < $end;
