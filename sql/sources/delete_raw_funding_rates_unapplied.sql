-- Delete from raw_funding_rates the fetched settlements of the (symbol, day)s whose stored ones are kept instead (ingest_guard.kept_because).
DELETE FROM raw_funding_rates
USING ingest_guard AS g
WHERE raw_funding_rates.funding_time >= $start AND raw_funding_rates.funding_time < $end
  AND g.kept_because IS NOT NULL
  AND g.symbol = raw_funding_rates.symbol AND g.day = CAST(raw_funding_rates.funding_time AS DATE);
