-- Create daily_panel: one row per coin-day (UTC) with close, returns, size, volume, the universe flag and bid-ask spread estimates.
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
    in_universe    BOOLEAN NOT NULL,  -- market_cap >= 1e6 and close, ret, market_cap, dollar_volume present
    -- spreads: proportional full bid-ask spread (ask - bid) / mid, 0.001 = 10 bp, from the day's pairs of adjacent
    -- 5-minute bars (estimators/spreads.py); NULL without bars or with fewer than MIN_SPREAD_PAIRS (12) pairs.
    -- Nullable: a file written before them gains them (storage.warehouse.ensure_table; NULL until rebuilt)
    spread_cs      DOUBLE,            -- Corwin-Schultz (2012): mean of the pairs' high-low estimates, negatives as 0
    spread_ar      DOUBLE,            -- Abdi-Ranaldo (2017) CHL: sqrt(max(4 mean (c_t - eta_t)(c_t - eta_t+1), 0))
    n_spread_pairs INTEGER            -- adjacent pairs (next bar exactly 5 minutes later, same UTC day); 0 without bars
);
