-- Select daily_panel rows (columns used by the factors) with $start <= date < $end.
SELECT symbol, date, close, ret, market_cap, volume, dollar_volume, in_universe
FROM daily_panel WHERE date >= $start AND date < $end ORDER BY date, symbol;
