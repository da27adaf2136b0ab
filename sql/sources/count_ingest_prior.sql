-- Count the stored rows of the window snapshot before the ingest.
SELECT count(*) FROM ingest_prior;
