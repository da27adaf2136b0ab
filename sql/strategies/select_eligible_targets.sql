-- Select the next-week excess returns of the eligible coin-weeks (the payoff ratios' training data).
SELECT symbol, week_start, y_next FROM feature_matrix WHERE in_universe AND y_next IS NOT NULL;
