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
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY symbol, date ORDER BY input_order) AS key_rank FROM typed
)
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
        WHEN key_rank > 1 OR already_stored THEN 'duplicate_key'
    END AS reason
FROM (
    -- a key already written earlier in this transaction (another chunk of the same window) is a duplicate too
    SELECT ranked.*, coalesce(stored.stored_flag, false) AS already_stored
    FROM ranked
    LEFT JOIN (
        SELECT symbol, date, true AS stored_flag FROM raw_coin_markets WHERE date >= CAST($start AS DATE) AND date < CAST($end AS DATE)
    ) AS stored USING (symbol, date)
);
