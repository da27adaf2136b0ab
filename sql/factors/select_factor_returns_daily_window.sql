-- Select factor_returns_daily rows with $start <= date < $end.
SELECT * FROM factor_returns_daily WHERE date >= $start AND date < $end ORDER BY date;
