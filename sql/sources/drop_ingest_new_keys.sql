-- Drop the temp table of the keys the fetch stored.
DROP TABLE ingest_new_keys;
