-- Update raw_klines_5m: fill the missing symbol_id from symbol_ids (migration of a table written before symbol ids existed).
UPDATE raw_klines_5m SET symbol_id = ids.symbol_id FROM symbol_ids AS ids WHERE raw_klines_5m.symbol = ids.symbol AND raw_klines_5m.symbol_id IS NULL;
