-- Select the mean planted univariate EQUITY beta of cross_asset_truth per month of [$start, $end).
SELECT month_start, market, avg(univariate_beta) AS planted FROM cross_asset_truth
WHERE month_start >= $start AND month_start < $end AND market = 'EQUITY' GROUP BY ALL;
