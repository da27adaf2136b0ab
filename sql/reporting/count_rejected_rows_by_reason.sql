-- Count rejected rows by dataset, source and reason, with the partition days they span.
SELECT dataset, source, reason, count(*) AS n_rows, count(DISTINCT symbol) AS n_symbols,
       min(partition_date) AS first_day, max(partition_date) AS last_day
FROM rejected_rows
GROUP BY dataset, source, reason
ORDER BY n_rows DESC, dataset, reason
