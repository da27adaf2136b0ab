-- Select the rsj_daily rows (symbol, date, rsj, min_share) of the formation days [$start, $end).
SELECT symbol, date, rsj, min_share FROM rsj_daily WHERE date >= $start AND date < $end ORDER BY date, symbol
