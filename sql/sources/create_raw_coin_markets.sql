-- Create raw_coin_markets: daily price, market cap and volume per coin (CoinGecko-like), one row per (symbol, date).
CREATE TABLE IF NOT EXISTS raw_coin_markets (
    coin_id       VARCHAR NOT NULL,  -- data-vendor id, e.g. bitcoin
    symbol        VARCHAR NOT NULL,  -- exchange symbol the panel uses, e.g. BTCUSDT
    date          DATE    NOT NULL,  -- UTC day of the snapshot
    price         DOUBLE  NOT NULL,  -- USD
    market_cap    DOUBLE,            -- USD; NULL when unknown (0 from the vendor is stored as NULL, see rejected_rows/metadata)
    total_volume  DOUBLE,            -- USD, 24h
    source        VARCHAR NOT NULL
);
