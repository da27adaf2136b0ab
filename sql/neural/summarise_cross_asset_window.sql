-- Summarise cross_asset_monthly per asset class and series over [$start, $end): months, mean, std, first and last month.
SELECT asset_class, series, count(*) AS months, avg(ret) AS mean, stddev_samp(ret) AS std,
       min(month_start) AS first, max(month_start) AS last
FROM cross_asset_monthly WHERE month_start >= $start AND month_start < $end GROUP BY ALL ORDER BY asset_class, series;
