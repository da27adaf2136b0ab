-- Drop the temp table of the keys stored before the fetch.
DROP TABLE ingest_prior_keys;
