-- Insert symbol_ids for the symbols a DuckLake ingest staged (temp.main.staged_ingest_symbol_ids) that the store lacks: the next dense ids after the STORED ones, in the staging's order.
INSERT INTO symbol_ids (symbol, symbol_id)
SELECT mine.symbol,
       (SELECT coalesce(max(symbol_id), -1) FROM symbol_ids) + row_number() OVER (ORDER BY mine.symbol_id, mine.symbol)
FROM temp.main.staged_ingest_symbol_ids AS mine
WHERE NOT EXISTS (SELECT 1 FROM symbol_ids AS known WHERE known.symbol = mine.symbol);
