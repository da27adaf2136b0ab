-- Create raw_onchain_activity: validated daily on-chain activity per coin (active addresses, transactions), one row per (symbol, date).
CREATE TABLE IF NOT EXISTS raw_onchain_activity (
    date              DATE    NOT NULL,  -- UTC day the activity was counted
    symbol            VARCHAR NOT NULL,  -- exchange symbol the panels use, e.g. BTCUSDT
    coin              VARCHAR,           -- the coin as the source names it (CoinGecko id or ticker)
    active_addresses  DOUBLE,            -- distinct active addresses that day (count); NULL when the source has none
    tx_count          DOUBLE,            -- transactions that day (count); NULL when the source has none
    source            VARCHAR NOT NULL   -- simulated | files
);
