-- Drop the temp table of the fetch guard.
DROP TABLE ingest_guard;
