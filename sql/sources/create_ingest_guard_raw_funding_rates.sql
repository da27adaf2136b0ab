-- Create temp table ingest_guard: per (symbol, UTC day) of the window, settlements stored before the fetch, valid ones it brought, and why the stored ones are kept instead (NULL = the fetch applies).
CREATE OR REPLACE TEMP TABLE ingest_guard AS
WITH prior AS (
    SELECT symbol, CAST(funding_time AS DATE) AS day, count(*) AS prior_rows FROM ingest_prior GROUP BY ALL
),
fresh AS (
    SELECT symbol, CAST(funding_time AS DATE) AS day, count(*) AS new_rows
    FROM raw_funding_rates WHERE funding_time >= $start AND funding_time < $end GROUP BY ALL
),
rejected AS (
    SELECT symbol, partition_date AS day, count(*) AS rejected_rows
    FROM rejected_rows
    WHERE dataset = 'raw_funding_rates' AND partition_date >= CAST($start AS DATE) AND partition_date < CAST($end AS DATE)
    GROUP BY ALL
),
conflicts AS (
    -- stored settlements of keys the fetch quarantined as conflicting_duplicate (so it brought no valid one): kept
    SELECT p.symbol, CAST(p.funding_time AS DATE) AS day, count(*) AS conflict_kept
    FROM ingest_prior AS p
    WHERE EXISTS (SELECT 1 FROM rejected_rows AS r
                  WHERE r.dataset = 'raw_funding_rates' AND r.reason = 'conflicting_duplicate'
                    AND r.partition_date = CAST(p.funding_time AS DATE) AND r.symbol = p.symbol
                    AND r.event_time = p.funding_time)
      AND NOT EXISTS (SELECT 1 FROM raw_funding_rates AS f
                      WHERE f.funding_time >= $start AND f.funding_time < $end
                        AND f.symbol = p.symbol AND f.funding_time = p.funding_time)
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
