-- Select the daily_panel rows (symbol, date, ret, market_cap, dollar_volume) the RSJ portfolios read in [$start, $end).
SELECT symbol, date, ret, market_cap, dollar_volume FROM daily_panel WHERE date >= $start AND date < $end ORDER BY date, symbol
