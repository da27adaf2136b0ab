-- Drop the temp table of staged klines.
DROP TABLE staged_klines;
