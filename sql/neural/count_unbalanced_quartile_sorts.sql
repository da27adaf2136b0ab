-- Count the sorts (month_start, method, model, market) of beta_quartile_portfolios in [$start, $end) whose quartile sizes differ by more than one coin.
SELECT count(*) FROM (SELECT month_start, method, model, market FROM beta_quartile_portfolios
                      WHERE month_start >= $start AND month_start < $end GROUP BY ALL HAVING max(n_coins) - min(n_coins) > 1);
