-- Update raw_klines_5m: recompute the within-day 5-minute log returns of the (symbol, day)s that mix fetched bars with stored bars kept for conflicting keys.
UPDATE raw_klines_5m SET log_ret = fixed.log_ret
FROM (
    SELECT symbol, open_time,
        CASE WHEN lag(open_time) OVER w = open_time - INTERVAL 5 MINUTE THEN ln(close / lag(close) OVER w) END
            AS log_ret
    FROM raw_klines_5m AS k
    WHERE open_time >= $start AND open_time < $end
      AND EXISTS (SELECT 1 FROM ingest_guard AS g
                  WHERE g.conflict_kept > 0 AND g.kept_because IS NULL
                    AND g.symbol = k.symbol AND g.day = CAST(k.open_time AS DATE))
    WINDOW w AS (PARTITION BY symbol, CAST(open_time AS DATE) ORDER BY open_time)
) AS fixed
WHERE raw_klines_5m.symbol = fixed.symbol AND raw_klines_5m.open_time = fixed.open_time;
