-- Stage incoming_funding into a temp table with a rejection reason per row (NULL = valid), for the window [$start, $end).
CREATE OR REPLACE TEMP TABLE staged_funding AS
WITH typed AS (
    SELECT
        row_number() OVER () AS input_order,
        CAST(symbol AS VARCHAR) AS symbol,
        TRY_CAST(funding_time AS TIMESTAMP) AS funding_time,
        TRY_CAST(funding_rate AS DOUBLE) AS funding_rate,
        TRY_CAST(interval_hours AS DOUBLE) AS interval_hours
    FROM incoming_funding
),
checked AS MATERIALIZED (
    -- checks of each row on its own
    SELECT *,
        CASE
            WHEN symbol IS NULL OR symbol = '' OR funding_time IS NULL THEN 'missing_key'
            WHEN funding_rate IS NULL OR isnan(funding_rate) THEN 'missing_value'
            WHEN isinf(funding_rate) OR (interval_hours IS NOT NULL AND isinf(interval_hours)) THEN 'non_finite_value'
            WHEN abs(funding_rate) > $max_rate THEN 'implausible_funding_rate'
            WHEN interval_hours <= 0 THEN 'non_positive_interval'
            WHEN funding_time < $start OR funding_time >= $end THEN 'outside_partition'
        END AS row_reason
    FROM typed
),
repeated AS (
    -- keys that more than one valid row carries (usually none)
    SELECT symbol, funding_time FROM checked WHERE row_reason IS NULL GROUP BY ALL HAVING count(*) > 1
),
copies AS (
    -- copies with identical values collapse to the first one, a key with different versions is a
    -- conflict (every version quarantined)
    SELECT symbol, funding_time, min(input_order) AS first_order,
        count(DISTINCT (funding_rate, interval_hours)) AS key_versions
    FROM checked SEMI JOIN repeated USING (symbol, funding_time)
    WHERE row_reason IS NULL
    GROUP BY ALL
),
keyed AS (
    SELECT checked.*, copies.first_order, coalesce(copies.key_versions, 1) AS key_versions
    FROM checked LEFT JOIN copies USING (symbol, funding_time)
)
SELECT *,
    CASE
        WHEN row_reason IS NOT NULL THEN row_reason
        WHEN key_versions > 1 THEN 'conflicting_duplicate'
        WHEN input_order > first_order OR already_stored THEN 'duplicate_key'
    END AS reason
FROM (
    -- a key already written earlier in this transaction (another chunk of a streaming source) is a duplicate too
    SELECT keyed.*, coalesce(stored.stored_flag, false) AS already_stored
    FROM keyed
    LEFT JOIN (
        SELECT symbol, funding_time, true AS stored_flag FROM raw_funding_rates
        WHERE funding_time >= $start AND funding_time < $end
    ) AS stored USING (symbol, funding_time)
);
