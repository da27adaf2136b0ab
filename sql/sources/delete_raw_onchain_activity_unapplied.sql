-- Delete from raw_onchain_activity the fetched rows of the (symbol, date)s whose stored ones are kept instead (ingest_guard.kept_because).
DELETE FROM raw_onchain_activity
USING ingest_guard AS g
WHERE raw_onchain_activity.date >= CAST($start AS DATE) AND raw_onchain_activity.date < CAST($end AS DATE)
  AND g.kept_because IS NOT NULL
  AND g.symbol = raw_onchain_activity.symbol AND g.day = raw_onchain_activity.date;
