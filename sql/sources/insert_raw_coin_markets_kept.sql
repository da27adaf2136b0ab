-- Insert raw_coin_markets: stored snapshots kept from before the fetch (ingest_prior): (symbol, date)s of a failed or short fetch, and keys it quarantined as conflicting_duplicate.
INSERT INTO raw_coin_markets BY NAME
SELECT p.*
FROM ingest_prior AS p
WHERE (EXISTS (SELECT 1 FROM ingest_guard AS g
               WHERE g.kept_because IS NOT NULL AND g.symbol = p.symbol AND g.day = p.date)
    OR EXISTS (SELECT 1 FROM rejected_rows AS r
               WHERE r.dataset = 'raw_coin_markets' AND r.reason = 'conflicting_duplicate'
                 AND r.partition_date = p.date AND r.symbol = p.symbol))
  AND NOT EXISTS (SELECT 1 FROM raw_coin_markets AS m
                  WHERE m.date >= CAST($start AS DATE) AND m.date < CAST($end AS DATE)
                    AND m.symbol = p.symbol AND m.date = p.date);
