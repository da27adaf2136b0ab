-- Insert raw_coin_markets: the valid staged snapshots; a zero or NaN market cap / volume is stored as NULL (unknown).
INSERT INTO raw_coin_markets BY NAME
SELECT
    coin_id, symbol, date, price,
    CASE WHEN market_cap > 0 AND NOT isnan(market_cap) THEN market_cap END AS market_cap,
    CASE WHEN total_volume > 0 AND NOT isnan(total_volume) THEN total_volume END AS total_volume,
    $source AS source
FROM staged_markets
WHERE reason IS NULL;
