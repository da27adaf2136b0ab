-- Select neural_betas rows with $start <= month_start < $end.
SELECT month_start, coin, market, model, method, beta, alpha FROM neural_betas
WHERE month_start >= $start AND month_start < $end ORDER BY month_start, method, model, market, coin;
