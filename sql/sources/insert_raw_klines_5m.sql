-- Insert raw_klines_5m: the valid staged bars with their symbol id and the within-day 5-minute log return of each bar.
INSERT INTO raw_klines_5m BY NAME
SELECT
    symbol, ids.symbol_id, open_time, open, high, low, close, volume, turnover,
    -- a return only between adjacent bars of the same symbol and UTC day: never across gaps, coins or days
    CASE
        WHEN lag(open_time) OVER w = open_time - INTERVAL 5 MINUTE
         AND CAST(lag(open_time) OVER w AS DATE) = CAST(open_time AS DATE)
        THEN ln(close / lag(close) OVER w)
    END AS log_ret,
    $source AS source
FROM staged_klines
JOIN symbol_ids AS ids USING (symbol)  -- every valid staged symbol has its id (insert_symbol_ids.sql runs first)
WHERE reason IS NULL
WINDOW w AS (PARTITION BY symbol ORDER BY open_time);
