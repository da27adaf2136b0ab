-- Insert raw_onchain_activity: the stored rows (ingest_prior) whose keys the fetch guard puts back (ingest_kept_keys).
INSERT INTO raw_onchain_activity BY NAME
SELECT p.* FROM ingest_prior AS p
SEMI JOIN ingest_kept_keys AS k ON k.symbol = p.symbol AND k.event_time = CAST(p.date AS TIMESTAMP);
