-- Insert rejected_rows: the staged market snapshots that failed validation, with their reason and the row as JSON.
INSERT INTO rejected_rows BY NAME
SELECT
    'raw_coin_markets' AS dataset,
    $source AS source,
    symbol,
    CASE WHEN date >= CAST($start AS DATE) AND date < CAST($end AS DATE) THEN date ELSE CAST($start AS DATE) END
        AS partition_date,
    CAST(date AS TIMESTAMP) AS event_time,
    reason,
    CAST(to_json({'coin_id': coin_id, 'symbol': symbol, 'date': date, 'price': price,
                  'market_cap': market_cap, 'total_volume': total_volume}) AS VARCHAR) AS raw,
    CAST(row_number() OVER (PARTITION BY symbol, date, reason ORDER BY input_order) AS INTEGER) AS occurrence
FROM staged_markets
WHERE reason IS NOT NULL;
