-- Insert raw_klines_5m: the stored bars (ingest_prior) whose keys the fetch guard puts back (ingest_kept_keys).
INSERT INTO raw_klines_5m BY NAME
SELECT p.* FROM ingest_prior AS p
SEMI JOIN ingest_kept_keys AS k ON k.symbol = p.symbol AND k.event_time = p.open_time;
