-- Insert raw_coin_markets: the stored snapshots (ingest_prior) whose keys the fetch guard puts back (ingest_kept_keys).
INSERT INTO raw_coin_markets BY NAME
SELECT p.* FROM ingest_prior AS p
SEMI JOIN ingest_kept_keys AS k ON k.symbol = p.symbol AND k.event_time = CAST(p.date AS TIMESTAMP);
