-- Drop the temp table of the keys the fetch guard puts back.
DROP TABLE ingest_kept_keys;
