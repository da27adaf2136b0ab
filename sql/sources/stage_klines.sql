-- Stage incoming_klines into a temp table with a rejection reason per row (NULL = valid), for the window [$start, $end).
CREATE OR REPLACE TEMP TABLE staged_klines AS
WITH typed AS (
    SELECT
        row_number() OVER () AS input_order,
        CAST(symbol AS VARCHAR) AS symbol,
        TRY_CAST(open_time AS TIMESTAMP) AS open_time,
        TRY_CAST(open AS DOUBLE) AS open,
        TRY_CAST(high AS DOUBLE) AS high,
        TRY_CAST(low AS DOUBLE) AS low,
        TRY_CAST(close AS DOUBLE) AS close,
        TRY_CAST(volume AS DOUBLE) AS volume,
        TRY_CAST(turnover AS DOUBLE) AS turnover
    FROM incoming_klines
),
checked AS MATERIALIZED (
    -- checks of each row on its own
    SELECT *,
        CASE
            WHEN symbol IS NULL OR symbol = '' OR open_time IS NULL THEN 'missing_key'
            WHEN open IS NULL OR high IS NULL OR low IS NULL OR close IS NULL OR volume IS NULL
              OR isnan(open) OR isnan(high) OR isnan(low) OR isnan(close) OR isnan(volume) THEN 'missing_value'
            WHEN isinf(open) OR isinf(high) OR isinf(low) OR isinf(close) OR isinf(volume)
              OR (turnover IS NOT NULL AND isinf(turnover)) THEN 'non_finite_value'
            WHEN open <= 0 OR high <= 0 OR low <= 0 OR close <= 0 THEN 'non_positive_price'
            WHEN volume < 0 OR (turnover IS NOT NULL AND turnover < 0) THEN 'negative_volume'
            WHEN low > high OR low > least(open, close) OR high < greatest(open, close) THEN 'ohlc_inconsistent'
            WHEN epoch_us(open_time) % 300000000 <> 0 THEN 'off_5_minute_grid'
            WHEN open_time < $start OR open_time >= $end THEN 'outside_partition'
        END AS row_reason
    FROM typed
),
repeated AS (
    -- keys that more than one valid row carries (usually none: found with one hash aggregate, no sort)
    SELECT symbol, open_time FROM checked WHERE row_reason IS NULL GROUP BY ALL HAVING count(*) > 1
),
copies AS (
    -- duplicates are judged among the rows that pass the row checks: copies with identical values
    -- collapse to the first one, a key with different versions is a conflict (every version quarantined)
    SELECT symbol, open_time, min(input_order) AS first_order,
        count(DISTINCT (open, high, low, close, volume, turnover)) AS key_versions
    FROM checked SEMI JOIN repeated USING (symbol, open_time)
    WHERE row_reason IS NULL
    GROUP BY ALL
),
keyed AS (
    SELECT checked.*, copies.first_order, coalesce(copies.key_versions, 1) AS key_versions
    FROM checked LEFT JOIN copies USING (symbol, open_time)
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
        SELECT symbol, open_time, true AS stored_flag FROM raw_klines_5m
        WHERE open_time >= $start AND open_time < $end
          AND open_time >= (SELECT min(open_time) FROM keyed) AND open_time <= (SELECT max(open_time) FROM keyed)
    ) AS stored USING (symbol, open_time)
);
