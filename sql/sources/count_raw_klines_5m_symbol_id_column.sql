-- Count the symbol_id column of raw_klines_5m in the current schema (0: a table from before symbol ids).
SELECT count(*) FROM duckdb_columns() WHERE table_name = 'raw_klines_5m' AND column_name = 'symbol_id'
AND database_name = current_database() AND schema_name = current_schema();
