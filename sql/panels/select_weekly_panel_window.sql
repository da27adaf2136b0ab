-- Select weekly_panel rows with $start <= week_start < $end.
SELECT * FROM weekly_panel WHERE week_start >= $start AND week_start < $end ORDER BY week_start, symbol;
