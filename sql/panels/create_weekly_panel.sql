-- Create weekly_panel: one row per coin-week (ISO weeks, week_start = Monday) aggregated from daily_panel.
CREATE TABLE IF NOT EXISTS weekly_panel (
    symbol             VARCHAR NOT NULL,
    week_start         DATE    NOT NULL,  -- Monday 00:00 UTC
    ret                DOUBLE,            -- prod(1 + daily ret) - 1 over the week; NULL unless all 7 daily returns exist
    n_days             INTEGER NOT NULL,  -- days with a row in daily_panel
    n_returns          INTEGER NOT NULL,  -- days with a daily return
    close              DOUBLE  NOT NULL,  -- last-day close of the week (USD)
    market_cap         DOUBLE,            -- last-day market cap (USD)
    max_price          DOUBLE  NOT NULL,  -- max daily close of the week
    avg_volume         DOUBLE,            -- mean daily base volume
    avg_dollar_volume  DOUBLE,            -- mean daily dollar volume (USD)
    std_dollar_volume  DOUBLE,            -- sample std of daily dollar volume
    age_weeks          INTEGER NOT NULL,  -- ISO weeks since the coin's first week in daily_panel (0 in the listing week)
    in_universe        BOOLEAN NOT NULL  -- last-day market cap >= 1e6 and all 7 days with returns, cap and volume
);
