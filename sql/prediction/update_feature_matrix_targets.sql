-- Update the targets of stored feature_matrix rows from the registered frame incoming_targets (features untouched).
UPDATE feature_matrix AS f
SET ret_next = t.ret_next, rf_next = t.rf_next, y_next = t.y_next, y_up = t.y_up
FROM incoming_targets AS t
WHERE f.symbol = t.symbol AND f.week_start = t.week_start;
