-- Create temp table ingest_prior: the bars raw_klines_5m holds in the window [$start, $end) before a fetch replaces them (inside the ingest transaction).
CREATE OR REPLACE TEMP TABLE ingest_prior AS
SELECT * FROM raw_klines_5m WHERE open_time >= $start AND open_time < $end;
