-- Count the tables named $table in the main schema of the current database (1: the table exists, 0: it does not).
SELECT count(*) FROM information_schema.tables
WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = $table;
