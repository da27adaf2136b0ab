-- Create temp table ingest_prior_keys: the keys of the settlements stored before the fetch (ingest_prior), in the fetch guard's shape (symbol, event_time, UTC day).
CREATE OR REPLACE TEMP TABLE ingest_prior_keys AS
SELECT symbol, funding_time AS event_time, CAST(funding_time AS DATE) AS day FROM ingest_prior;
