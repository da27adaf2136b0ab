-- Sum the stored rows kept for conflicting keys on days the fetch otherwise replaces.
SELECT coalesce(sum(conflict_kept), 0) FROM ingest_guard WHERE kept_because IS NULL;
