-- Count the walk-forward folds whose training window reaches into the embargo or whose test block is reversed.
SELECT count(*) FROM prediction_folds
WHERE date_diff('day', train_end, test_start) < 7 * (embargo + 1) OR test_end < test_start;
