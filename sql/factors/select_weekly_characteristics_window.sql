-- Select weekly_characteristics rows with $start <= week_start < $end.
SELECT * FROM weekly_characteristics WHERE week_start >= $start AND week_start < $end ORDER BY week_start, symbol;
