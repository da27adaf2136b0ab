-- Select per coin and ISO week ($start <= week_start < $end) sums of SJ and RV and mean skew / kurtosis over days with a defined RSJ.
SELECT
    symbol,
    CAST(date_trunc('week', date) AS DATE) AS week_start,
    count(*) AS n_rsj_days,
    sum(sj) AS sum_sj,
    sum(rv) AS sum_rv,
    avg(rskew) AS mean_rskew,
    avg(rkurt) AS mean_rkurt
FROM rsj_daily
WHERE date >= $start AND date < $end AND rsj IS NOT NULL
GROUP BY symbol, CAST(date_trunc('week', date) AS DATE)
ORDER BY week_start, symbol;
