-- Count the markets of neural_beta_grid without exactly one best configuration.
SELECT count(*) FROM (SELECT market FROM neural_beta_grid GROUP BY market HAVING sum(is_best::INT) <> 1);
