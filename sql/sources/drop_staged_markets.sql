-- Drop the temp table of staged coin markets.
DROP TABLE staged_markets;
