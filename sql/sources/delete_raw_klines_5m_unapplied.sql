-- Delete from raw_klines_5m the fetched bars of the (symbol, day)s whose stored bars are kept instead (ingest_guard.kept_because).
DELETE FROM raw_klines_5m
USING ingest_guard AS g
WHERE raw_klines_5m.open_time >= $start AND raw_klines_5m.open_time < $end
  AND g.kept_because IS NOT NULL
  AND g.symbol = raw_klines_5m.symbol AND g.day = CAST(raw_klines_5m.open_time AS DATE);
