-- Count the stored on-chain rows of the window [$start, $end) with a negative count or with neither count.
SELECT count(*) FROM raw_onchain_activity
WHERE date >= CAST($start AS DATE) AND date < CAST($end AS DATE)
  AND (active_addresses < 0 OR tx_count < 0 OR (active_addresses IS NULL AND tx_count IS NULL));
