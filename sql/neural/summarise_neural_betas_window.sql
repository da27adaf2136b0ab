-- Summarise neural_betas per method, model and market over [$start, $end): rows, months, mean and std of the betas.
SELECT method, model, market, count(*) AS n, count(DISTINCT month_start) AS months,
       avg(beta) AS mean_beta, stddev_samp(beta) AS std_beta
FROM neural_betas WHERE month_start >= $start AND month_start < $end GROUP BY ALL ORDER BY ALL;
