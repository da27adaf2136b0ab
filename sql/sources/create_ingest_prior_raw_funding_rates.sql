-- Create temp table ingest_prior: the settlements raw_funding_rates holds in the window [$start, $end) before a fetch replaces them (inside the ingest transaction).
CREATE OR REPLACE TEMP TABLE ingest_prior AS
SELECT * FROM raw_funding_rates WHERE funding_time >= $start AND funding_time < $end;
