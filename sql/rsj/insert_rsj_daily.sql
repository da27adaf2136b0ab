-- Insert rsj_daily: per coin-day RV, RS+/RS-, SJ, RSJ, skewness, kurtosis from stored 5-minute log_ret.
-- Parameters: $start, $end (DATE or TIMESTAMP, truncated to the UTC day, so only whole days are
-- aggregated; half-open window on open_time), $min_share (a coin-day
-- needs n_bars >= $min_share * 288). One GROUP BY over the stored log_ret (no window function):
-- log_ret is NULL across gaps and day boundaries, and count/sum skip NULLs. SJ is summed directly
-- as sum(r |r|) = sum(r^2 sign r); RS+ = (RV + SJ) / 2 and RS- = (RV - SJ) / 2 follow exactly
-- (algebraically) and save two FILTERed sums, the slowest part of the aggregate. The groups are
-- (symbol_id, date), two integer keys with known ranges: with perfect_ht_threshold raised (see
-- rsj/daily.py) DuckDB aggregates into a directly indexed array instead of hashing a VARCHAR
-- key per bar (1.5x faster); the symbol is joined back on the ~100x smaller result.
INSERT INTO rsj_daily BY NAME
WITH sums AS (
    SELECT symbol_id,
           CAST(open_time AS DATE)                                  AS date,
           count(*)                                                 AS n_bars,
           count(log_ret)                                           AS n_returns,
           coalesce(sum(log_ret * log_ret), 0.0)                    AS rv,
           coalesce(sum(log_ret * abs(log_ret)), 0.0)               AS sj,
           coalesce(sum(log_ret * log_ret * log_ret), 0.0)          AS s3,
           coalesce(sum((log_ret * log_ret) * (log_ret * log_ret)), 0.0) AS s4
    FROM raw_klines_5m
    WHERE open_time >= CAST(CAST($start AS DATE) AS TIMESTAMP)
      AND open_time < CAST(CAST($end AS DATE) AS TIMESTAMP)
    GROUP BY symbol_id, date
), flagged AS (
    SELECT ids.symbol, sums.*,
           CASE WHEN n_bars < $min_share * 288 THEN 'too_few_bars'
                WHEN rv = 0 THEN 'zero_rv' END AS reason
    FROM sums
    JOIN symbol_ids AS ids USING (symbol_id)
)
SELECT symbol,
       date,
       n_bars,
       n_returns,
       rv,
       (rv + sj) / 2                                                   AS rs_pos,
       (rv - sj) / 2                                                   AS rs_neg,
       sj,
       CASE WHEN reason IS NULL THEN sj / rv END                       AS rsj,
       CASE WHEN reason IS NULL THEN sqrt(n_returns) * s3 / (rv * sqrt(rv)) END AS rskew,
       CASE WHEN reason IS NULL THEN n_returns * s4 / (rv * rv) END    AS rkurt,
       CAST($min_share AS DOUBLE)                                      AS min_share,
       reason
FROM flagged
