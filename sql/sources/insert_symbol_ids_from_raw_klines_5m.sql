-- Insert symbol_ids for the symbols of a raw_klines_5m written before symbol ids existed (migration; next dense ids, symbol order).
INSERT INTO symbol_ids (symbol, symbol_id)
SELECT stored.symbol,
       (SELECT coalesce(max(symbol_id), -1) FROM symbol_ids) + row_number() OVER (ORDER BY stored.symbol)
FROM (SELECT DISTINCT symbol FROM raw_klines_5m) AS stored
WHERE NOT EXISTS (SELECT 1 FROM symbol_ids known WHERE known.symbol = stored.symbol);
