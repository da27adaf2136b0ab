-- Stage incoming_onchain into a temp table with a rejection reason per row (NULL = valid), for the window [$start, $end).
CREATE OR REPLACE TEMP TABLE staged_onchain AS
WITH typed AS (
    SELECT
        row_number() OVER () AS input_order,
        CAST(symbol AS VARCHAR) AS symbol,
        CAST(coin AS VARCHAR) AS coin,
        CAST(TRY_CAST(date AS TIMESTAMP) AS DATE) AS date,
        TRY_CAST(active_addresses AS DOUBLE) AS active_addresses,
        TRY_CAST(tx_count AS DOUBLE) AS tx_count
    FROM incoming_onchain
),
checked AS MATERIALIZED (
    -- checks of each row on its own (a NaN count is a missing one)
    SELECT *,
        CASE
            WHEN symbol IS NULL OR symbol = '' OR date IS NULL THEN 'missing_key'
            WHEN (active_addresses IS NULL OR isnan(active_addresses)) AND (tx_count IS NULL OR isnan(tx_count))
                THEN 'missing_value'
            WHEN isinf(coalesce(active_addresses, 0)) OR isinf(coalesce(tx_count, 0)) THEN 'non_finite_value'
            WHEN active_addresses < 0 OR tx_count < 0 THEN 'negative_count'
            WHEN date < CAST($start AS DATE) OR date >= CAST($end AS DATE) THEN 'outside_partition'
        END AS row_reason
    FROM typed
),
repeated AS (
    -- keys that more than one valid row carries (usually none)
    SELECT symbol, date FROM checked WHERE row_reason IS NULL GROUP BY ALL HAVING count(*) > 1
),
copies AS (
    -- copies with identical values collapse to the first one, a key with different versions is a
    -- conflict (every version quarantined)
    SELECT symbol, date, min(input_order) AS first_order,
        count(DISTINCT (coin, active_addresses, tx_count)) AS key_versions
    FROM checked SEMI JOIN repeated USING (symbol, date)
    WHERE row_reason IS NULL
    GROUP BY ALL
),
keyed AS (
    SELECT checked.*, copies.first_order, coalesce(copies.key_versions, 1) AS key_versions
    FROM checked LEFT JOIN copies USING (symbol, date)
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
        SELECT symbol, date, true AS stored_flag FROM raw_onchain_activity
        WHERE date >= CAST($start AS DATE) AND date < CAST($end AS DATE)
    ) AS stored USING (symbol, date)
);
