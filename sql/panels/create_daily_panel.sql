-- Create daily_panel: one row per coin-day (UTC) with close, returns, size, volume and the universe flag.
CREATE TABLE IF NOT EXISTS daily_panel (
    symbol         VARCHAR NOT NULL,
    date           DATE    NOT NULL,
    close          DOUBLE  NOT NULL,  -- last 5-minute close of the day, else the market-data price (USD)
    close_source   VARCHAR NOT NULL,  -- klines | markets
    ret            DOUBLE,            -- simple return close(d) / close(d-1) - 1; NULL when d-1 is missing
    log_ret        DOUBLE,            -- ln(close(d) / close(d-1))
    market_cap     DOUBLE,            -- USD, NULL when the coin has no market data that day
    volume         DOUBLE,            -- base-coin quantity from 5-minute bars (NULL without bars)
    dollar_volume  DOUBLE,            -- USD: sum of bar turnover (or close x volume) when bars exist, else market-data total_volume
    volume_source  VARCHAR,           -- klines | markets
    n_bars         INTEGER NOT NULL,  -- number of stored 5-minute bars (0 for market-data-only coins)
    in_universe    BOOLEAN NOT NULL  -- market_cap >= 1e6 and close, ret, market_cap, dollar_volume present
);
