-- Delete from raw_coin_markets the fetched snapshots of the (symbol, date)s whose stored ones are kept instead (ingest_guard.kept_because).
DELETE FROM raw_coin_markets
USING ingest_guard AS g
WHERE raw_coin_markets.date >= CAST($start AS DATE) AND raw_coin_markets.date < CAST($end AS DATE)
  AND g.kept_because IS NOT NULL
  AND g.symbol = raw_coin_markets.symbol AND g.day = raw_coin_markets.date;
