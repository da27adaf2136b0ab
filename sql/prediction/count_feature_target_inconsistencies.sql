-- Count the feature_matrix rows ($start <= week_start < $end) whose targets are inconsistent: target week, y_up and y_next against ret_next - rf_next.
SELECT count(*) FROM feature_matrix
WHERE week_start >= $start AND week_start < $end
  AND (target_week <> week_start + 7
       OR (y_next IS NOT NULL AND y_up IS DISTINCT FROM (y_next > 0))
       OR (y_next IS NULL AND y_up IS NOT NULL)
       OR abs(coalesce(y_next - (ret_next - rf_next), 0)) > 1e-12);
