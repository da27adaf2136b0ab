-- Insert rejected_rows: the staged on-chain rows that failed validation, with their reason and the row as JSON.
INSERT INTO rejected_rows BY NAME
SELECT
    'raw_onchain_activity' AS dataset,
    $source AS source,
    symbol,
    CASE WHEN date >= CAST($start AS DATE) AND date < CAST($end AS DATE) THEN date ELSE CAST($start AS DATE) END
        AS partition_date,
    CAST(date AS TIMESTAMP) AS event_time,
    reason,
    CAST(to_json({'date': date, 'symbol': symbol, 'coin': coin, 'active_addresses': active_addresses,
                  'tx_count': tx_count}) AS VARCHAR) AS raw,
    CAST(row_number() OVER (PARTITION BY symbol, date, reason ORDER BY input_order) AS INTEGER) AS occurrence
FROM staged_onchain
WHERE reason IS NOT NULL;
