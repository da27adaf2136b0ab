-- Select the (symbol, UTC day)s whose stored rows the fetch guard keeps, in order.
SELECT symbol, day, prior_rows, new_rows, rejected_rows, conflict_kept, kept_because
FROM ingest_guard WHERE kept_because IS NOT NULL ORDER BY symbol, day;
