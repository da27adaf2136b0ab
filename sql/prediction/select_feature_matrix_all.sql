-- Select every stored feature_matrix row, ordered by week and coin (the walk-forward's sample).
SELECT * FROM feature_matrix ORDER BY week_start, symbol;
