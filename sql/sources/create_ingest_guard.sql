-- Create temp table ingest_guard: per (symbol, UTC day) of the window, rows stored before the fetch (ingest_prior_keys), valid rows it brought (ingest_new_keys), and why the stored rows are kept instead (NULL = the fetch applies).
CREATE OR REPLACE TEMP TABLE ingest_guard AS
WITH prior AS (
    SELECT symbol, day, count(*) AS prior_rows FROM ingest_prior_keys GROUP BY ALL
),
fresh AS (
    SELECT symbol, day, count(*) AS new_rows FROM ingest_new_keys GROUP BY ALL
),
rejected AS (
    SELECT symbol, partition_date AS day, count(*) AS rejected_rows
    FROM rejected_rows
    WHERE dataset = $dataset AND partition_date >= CAST($start AS DATE) AND partition_date < CAST($end AS DATE)
    GROUP BY ALL
),
conflicts AS (
    -- stored rows of keys the fetch quarantined as conflicting_duplicate (so it brought no valid row for them): kept
    SELECT p.symbol, p.day, count(*) AS conflict_kept
    FROM ingest_prior_keys AS p
    WHERE EXISTS (SELECT 1 FROM rejected_rows AS r
                  WHERE r.dataset = $dataset AND r.reason = 'conflicting_duplicate'
                    AND r.partition_date = p.day AND r.symbol = p.symbol AND r.event_time = p.event_time)
      AND NOT EXISTS (SELECT 1 FROM ingest_new_keys AS n WHERE n.symbol = p.symbol AND n.event_time = p.event_time)
    GROUP BY ALL
)
SELECT symbol, day,
    coalesce(prior_rows, 0) AS prior_rows,
    coalesce(new_rows, 0) AS new_rows,
    coalesce(rejected_rows, 0) AS rejected_rows,
    coalesce(conflict_kept, 0) AS conflict_kept,
    CASE
        WHEN list_contains(CAST($failed AS VARCHAR[]), symbol) THEN 'symbol_fetch_failed'
        WHEN coalesce(new_rows, 0) + coalesce(conflict_kept, 0) < coalesce(prior_rows, 0) AND NOT $replace
            THEN 'short_fetch'
    END AS kept_because
FROM prior
FULL JOIN fresh USING (symbol, day)
LEFT JOIN conflicts USING (symbol, day)
LEFT JOIN rejected USING (symbol, day);
