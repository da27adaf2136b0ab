-- Insert raw_klines_5m: stored bars kept from before the fetch (ingest_prior): whole (symbol, day)s of a failed or short fetch, and keys it quarantined as conflicting_duplicate.
INSERT INTO raw_klines_5m BY NAME
SELECT p.*
FROM ingest_prior AS p
WHERE (EXISTS (SELECT 1 FROM ingest_guard AS g
               WHERE g.kept_because IS NOT NULL AND g.symbol = p.symbol AND g.day = CAST(p.open_time AS DATE))
    OR EXISTS (SELECT 1 FROM rejected_rows AS r
               WHERE r.dataset = 'raw_klines_5m' AND r.reason = 'conflicting_duplicate'
                 AND r.partition_date = CAST(p.open_time AS DATE) AND r.symbol = p.symbol
                 AND r.event_time = p.open_time))
  AND NOT EXISTS (SELECT 1 FROM raw_klines_5m AS k
                  WHERE k.open_time >= $start AND k.open_time < $end
                    AND k.symbol = p.symbol AND k.open_time = p.open_time);
