-- Stage incoming_markets into a temp table with a rejection reason per row (NULL = valid), for the window [$start, $end).
CREATE OR REPLACE TEMP TABLE staged_markets AS
WITH typed AS (
    SELECT
        row_number() OVER () AS input_order,
        CAST(coin_id AS VARCHAR) AS coin_id,
        CAST(symbol AS VARCHAR) AS symbol,
        CAST(TRY_CAST(date AS TIMESTAMP) AS DATE) AS date,
        TRY_CAST(price AS DOUBLE) AS price,
        TRY_CAST(market_cap AS DOUBLE) AS market_cap,
        TRY_CAST(total_volume AS DOUBLE) AS total_volume
    FROM incoming_markets
),
checked AS MATERIALIZED (
    -- checks of each row on its own
    SELECT *,
        CASE
            WHEN symbol IS NULL OR symbol = '' OR date IS NULL THEN 'missing_key'
            WHEN price IS NULL OR isnan(price) THEN 'missing_price'
            WHEN isinf(price) OR (market_cap IS NOT NULL AND isinf(market_cap))
              OR (total_volume IS NOT NULL AND isinf(total_volume)) THEN 'non_finite_value'
            WHEN price <= 0 THEN 'non_positive_price'
            WHEN market_cap < 0 THEN 'negative_market_cap'
            WHEN total_volume < 0 THEN 'negative_volume'
            WHEN date < CAST($start AS DATE) OR date >= CAST($end AS DATE) THEN 'outside_partition'
        END AS row_reason
    FROM typed
),
repeated AS (
    -- keys that more than one valid row carries (usually none: found with one hash aggregate, no sort)
    SELECT symbol, date FROM checked WHERE row_reason IS NULL GROUP BY ALL HAVING count(*) > 1
),
copies AS (
    -- duplicates are judged among the rows that pass the row checks: copies with identical values
    -- collapse to the first one, a key with different versions is a conflict (every version quarantined)
    SELECT symbol, date, min(input_order) AS first_order,
        count(DISTINCT (coin_id, price, market_cap, total_volume)) AS key_versions
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
        SELECT symbol, date, true AS stored_flag FROM raw_coin_markets WHERE date >= CAST($start AS DATE) AND date < CAST($end AS DATE)
    ) AS stored USING (symbol, date)
);
