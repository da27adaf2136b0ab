-- Insert raw_funding_rates: stored settlements kept from before the fetch (ingest_prior): whole (symbol, day)s of a failed or short fetch, and keys it quarantined as conflicting_duplicate.
INSERT INTO raw_funding_rates BY NAME
SELECT p.*
FROM ingest_prior AS p
WHERE (EXISTS (SELECT 1 FROM ingest_guard AS g
               WHERE g.kept_because IS NOT NULL AND g.symbol = p.symbol AND g.day = CAST(p.funding_time AS DATE))
    OR EXISTS (SELECT 1 FROM rejected_rows AS r
               WHERE r.dataset = 'raw_funding_rates' AND r.reason = 'conflicting_duplicate'
                 AND r.partition_date = CAST(p.funding_time AS DATE) AND r.symbol = p.symbol
                 AND r.event_time = p.funding_time))
  AND NOT EXISTS (SELECT 1 FROM raw_funding_rates AS f
                  WHERE f.funding_time >= $start AND f.funding_time < $end
                    AND f.symbol = p.symbol AND f.funding_time = p.funding_time);
