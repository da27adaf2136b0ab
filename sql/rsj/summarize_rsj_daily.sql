-- Summarize the rsj_daily window [$start, $end): coin-days by reason, missing days, mean RSJ, signed-jump share of QV, zero returns.
WITH w AS (SELECT * FROM rsj_daily WHERE date >= $start AND date < $end),
span AS (SELECT symbol, datediff('day', min(date), max(date)) + 1 - count(*) AS missing FROM w
         GROUP BY symbol)
SELECT count(*) AS coin_days, count(DISTINCT symbol) AS coins, count(rsj) AS with_rsj,
       count(*) FILTER (WHERE reason = 'too_few_bars') AS too_few_bars,
       count(*) FILTER (WHERE reason = 'zero_rv') AS zero_rv,
       count(*) FILTER (WHERE reason = 'stale') AS stale,
       (SELECT coalesce(sum(missing), 0) FROM span) AS missing_days,
       avg(rsj) AS mean_rsj, stddev_samp(rsj) AS sd_rsj, avg(abs(rsj)) AS sj_share_qv,
       sum(abs(sj)) FILTER (WHERE rsj IS NOT NULL) / sum(rv) FILTER (WHERE rsj IS NOT NULL)
           AS sj_share_qv_pooled,
       avg(rskew) AS mean_rskew, avg(rkurt) AS mean_rkurt, avg(n_bars) AS mean_bars,
       avg(n_returns) AS mean_returns, sum(n_zero) / sum(n_returns) AS zero_share_pooled
FROM w
