-- Insert symbol_ids: the next dense ids for the valid staged symbols not seen before (in symbol order; inside the ingest transaction).
INSERT INTO symbol_ids (symbol, symbol_id)
SELECT incoming.symbol,
       (SELECT coalesce(max(symbol_id), -1) FROM symbol_ids) + row_number() OVER (ORDER BY incoming.symbol)
FROM (SELECT DISTINCT symbol FROM staged_klines WHERE reason IS NULL) AS incoming
WHERE NOT EXISTS (SELECT 1 FROM symbol_ids known WHERE known.symbol = incoming.symbol);
