-- Drop the temp table of staged on-chain rows.
DROP TABLE staged_onchain;
