-- Count the raw_klines_5m rows without a symbol_id.
SELECT count(*) FROM raw_klines_5m WHERE symbol_id IS NULL;
