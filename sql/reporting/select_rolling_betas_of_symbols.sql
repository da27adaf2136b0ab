-- Select the rolling_betas rows of the coins in $symbols (a VARCHAR list), by day and coin.
SELECT * FROM rolling_betas WHERE symbol IN (SELECT unnest($symbols::VARCHAR[])) ORDER BY date, symbol
