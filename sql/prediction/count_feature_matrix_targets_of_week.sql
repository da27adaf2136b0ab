-- Count the feature_matrix rows of week $week with a defined target y_next.
SELECT count(y_next) FROM feature_matrix WHERE week_start = $week;
