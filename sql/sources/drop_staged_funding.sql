-- Drop the temp table of staged funding settlements.
DROP TABLE staged_funding;
