-- Create temp table ingest_prior: the rows raw_onchain_activity holds in the window [$start, $end) before a fetch replaces them (inside the ingest transaction).
CREATE OR REPLACE TEMP TABLE ingest_prior AS
SELECT * FROM raw_onchain_activity WHERE date >= CAST($start AS DATE) AND date < CAST($end AS DATE);
