-- Select per coin and ISO week ($start <= week_start < $end) daily-return moments, extremes and the Amihud ratio.
SELECT
    symbol,
    CAST(date_trunc('week', date) AS DATE) AS week_start,
    count(ret) AS n_ret,
    sum(ret) AS sum_ret,
    sum(ret * ret) AS sum_ret2,
    max(ret) AS max_ret,
    min(ret) AS min_ret,
    avg(CASE WHEN dollar_volume > 0 THEN abs(ret) / dollar_volume END) AS amihud
FROM daily_panel
WHERE date >= $start AND date < $end
GROUP BY symbol, CAST(date_trunc('week', date) AS DATE)
ORDER BY week_start, symbol;
