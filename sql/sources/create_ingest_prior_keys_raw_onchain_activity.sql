-- Create temp table ingest_prior_keys: the keys of the on-chain rows stored before the fetch (ingest_prior), in the fetch guard's shape (symbol, event_time, UTC day = date).
CREATE OR REPLACE TEMP TABLE ingest_prior_keys AS
SELECT symbol, CAST(date AS TIMESTAMP) AS event_time, date AS day FROM ingest_prior;
