-- Insert rsj_daily: per coin-day RV, RS+/RS-, SJ, RSJ, skewness, kurtosis from the stored 5-minute log_ret and the midnight returns.
-- Parameters: $start, $end (DATE or TIMESTAMP, truncated to the UTC day, so only whole days are
-- aggregated; half-open window on open_time), $min_share (a coin-day needs n_bars >= $min_share * 288),
-- $max_zero_share (more than this share of exactly-zero returns: 'stale'), $include_midnight (count
-- each day's 00:00 bar's return from the previous day's 23:55 close).
-- `sums`: one GROUP BY over the stored log_ret (no window function): log_ret is NULL across gaps and
-- day boundaries, and count/sum skip NULLs. SJ is summed directly as sum(r |r|) = sum(r^2 sign r);
-- RS+ = (RV + SJ) / 2 and RS- = (RV - SJ) / 2 follow exactly (algebraically) and save two FILTERed
-- sums, the slowest part of the aggregate. The groups are (symbol_id, date), two integer keys with
-- known ranges: with perfect_ht_threshold raised (see rsj/daily.py) DuckDB aggregates into a directly
-- indexed array instead of hashing a VARCHAR key per bar (1.5x faster); the symbol is joined back on
-- the ~100x smaller result.
-- `edges` / `midnight`: the bars opening at 23:55 and 00:00 (the window's first day reads its previous
-- day's 23:55 bar: a look-back of one bar) and, per coin-day, ln(close(00:00) / close(23:55 the day
-- before)) when both bars exist, exactly 5 minutes apart; its powers are added to the day's sums.
INSERT INTO rsj_daily BY NAME
WITH sums AS (
    SELECT symbol_id,
           CAST(open_time AS DATE)                                  AS date,
           count(*)                                                 AS n_bars,
           count(log_ret)                                           AS n_returns,
           coalesce(count_if(log_ret = 0), 0)                       AS n_zero,
           coalesce(sum(log_ret * log_ret), 0.0)                    AS rv,
           coalesce(sum(log_ret * abs(log_ret)), 0.0)               AS sj,
           coalesce(sum(log_ret * log_ret * log_ret), 0.0)          AS s3,
           coalesce(sum((log_ret * log_ret) * (log_ret * log_ret)), 0.0) AS s4
    FROM raw_klines_5m
    WHERE open_time >= CAST(CAST($start AS DATE) AS TIMESTAMP)
      AND open_time < CAST(CAST($end AS DATE) AS TIMESTAMP)
    GROUP BY symbol_id, date
), edges AS (
    SELECT symbol_id, open_time, close
    FROM raw_klines_5m
    WHERE $include_midnight
      AND open_time IN (SELECT unnest(list_concat(   -- 23:55 of days start-1 .. end-2, 00:00 of days start .. end-1
              range(CAST(CAST($start AS DATE) AS TIMESTAMP) - INTERVAL 5 MINUTE,
                    CAST(CAST($end AS DATE) AS TIMESTAMP) - INTERVAL 5 MINUTE, INTERVAL 1 DAY),
              range(CAST(CAST($start AS DATE) AS TIMESTAMP), CAST(CAST($end AS DATE) AS TIMESTAMP), INTERVAL 1 DAY))))
), midnight AS (
    -- a group holds the 23:55 bar of d-1 and the 00:00 bar of d: both present means 5 minutes apart
    SELECT symbol_id, CAST(open_time + INTERVAL 5 MINUTE AS DATE) AS date,
           ln(arg_max(close, open_time) / arg_min(close, open_time)) AS r
    FROM edges
    GROUP BY symbol_id, CAST(open_time + INTERVAL 5 MINUTE AS DATE)
    HAVING count(*) = 2
), totals AS (
    SELECT sums.symbol_id, sums.date, n_bars,
           n_returns + CAST(m.r IS NOT NULL AS INTEGER)                   AS n_returns,
           n_zero + CAST(coalesce(m.r = 0, false) AS INTEGER)              AS n_zero,
           rv + coalesce(m.r * m.r, 0.0)                                   AS rv,
           sj + coalesce(m.r * abs(m.r), 0.0)                              AS sj,
           s3 + coalesce(m.r * m.r * m.r, 0.0)                             AS s3,
           s4 + coalesce((m.r * m.r) * (m.r * m.r), 0.0)                   AS s4
    FROM sums
    LEFT JOIN midnight AS m ON m.symbol_id = sums.symbol_id AND m.date = sums.date
), flagged AS (
    SELECT ids.symbol, totals.*,
           CASE WHEN n_bars < $min_share * 288 THEN 'too_few_bars'
                WHEN rv = 0 THEN 'zero_rv'
                WHEN n_zero > $max_zero_share * n_returns THEN 'stale' END AS reason
    FROM totals
    JOIN symbol_ids AS ids USING (symbol_id)
)
SELECT symbol,
       date,
       n_bars,
       n_returns,
       n_zero,
       rv,
       (rv + sj) / 2                                                   AS rs_pos,
       (rv - sj) / 2                                                   AS rs_neg,
       sj,
       CASE WHEN reason IS NULL THEN sj / rv END                       AS rsj,
       CASE WHEN reason IS NULL THEN sqrt(n_returns) * s3 / (rv * sqrt(rv)) END AS rskew,
       CASE WHEN reason IS NULL THEN n_returns * s4 / (rv * rv) END    AS rkurt,
       CAST($min_share AS DOUBLE)                                      AS min_share,
       CAST($max_zero_share AS DOUBLE)                                 AS max_zero_share,
       CAST($include_midnight AS BOOLEAN)                              AS include_midnight,
       reason
FROM flagged
