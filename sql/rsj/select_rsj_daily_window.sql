-- Select the rsj_daily rows of the window [$start, $end), by day and coin.
SELECT * FROM rsj_daily WHERE date >= $start AND date < $end ORDER BY date, symbol
