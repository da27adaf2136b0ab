-- Insert default coin_symbols rows for coin ids the table does not hold yet (user rows are never overwritten).
INSERT INTO coin_symbols BY NAME
SELECT d.coin_id, d.cg_symbol, d.symbol, 'default' AS edited_by
FROM default_symbols AS d
WHERE NOT EXISTS (SELECT 1 FROM coin_symbols AS c WHERE c.coin_id = d.coin_id);
