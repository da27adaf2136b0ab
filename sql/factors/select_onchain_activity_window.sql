-- Select raw_onchain_activity rows with $start <= date < $end (the CHAIN signal's input).
SELECT date, symbol, active_addresses, tx_count FROM raw_onchain_activity WHERE date >= $start AND date < $end ORDER BY symbol, date;
