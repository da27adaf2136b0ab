-- Select the columns (name, type, position order) of the table named $table in the main schema of the current database.
SELECT column_name, data_type FROM information_schema.columns
WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = $table ORDER BY ordinal_position;
