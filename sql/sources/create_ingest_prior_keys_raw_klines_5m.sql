-- Create temp table ingest_prior_keys: the keys of the bars stored before the fetch (ingest_prior), in the fetch guard's shape (symbol, event_time, UTC day).
CREATE OR REPLACE TEMP TABLE ingest_prior_keys AS
SELECT symbol, open_time AS event_time, CAST(open_time AS DATE) AS day FROM ingest_prior;
