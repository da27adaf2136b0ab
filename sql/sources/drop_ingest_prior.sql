-- Drop the temp table of the window snapshot.
DROP TABLE ingest_prior;
