-- Insert raw_onchain_activity: the valid staged rows; a NaN count is stored as NULL (unknown).
INSERT INTO raw_onchain_activity BY NAME
SELECT
    date, symbol, coin,
    CASE WHEN NOT isnan(active_addresses) THEN active_addresses END AS active_addresses,
    CASE WHEN NOT isnan(tx_count) THEN tx_count END AS tx_count,
    $source AS source
FROM staged_onchain
WHERE reason IS NULL;
