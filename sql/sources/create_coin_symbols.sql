-- Create coin_symbols: the user-editable mapping between data-vendor coin ids and exchange symbols.
CREATE TABLE IF NOT EXISTS coin_symbols (
    coin_id    VARCHAR NOT NULL,  -- CoinGecko id, e.g. bitcoin (or the ticker of a CoinGecko export file, e.g. btc)
    cg_symbol  VARCHAR,           -- CoinGecko ticker, e.g. btc
    symbol     VARCHAR NOT NULL,  -- exchange symbol used by the panels, e.g. BTCUSDT
    edited_by  VARCHAR NOT NULL   -- default | user: default rows are refreshed, user rows never touched
);
