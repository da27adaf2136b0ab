-- Alter raw_klines_5m written before symbol ids existed: add the symbol_id column (filled by update_raw_klines_5m_symbol_id.sql).
ALTER TABLE raw_klines_5m ADD COLUMN symbol_id INTEGER;
