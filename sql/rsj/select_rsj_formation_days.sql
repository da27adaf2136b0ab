-- Select the rsj_daily rows (symbol, date, rsj and its parameters) of the formation days [$start, $end).
SELECT symbol, date, rsj, min_share, max_zero_share, include_midnight
FROM rsj_daily WHERE date >= $start AND date < $end ORDER BY date, symbol
