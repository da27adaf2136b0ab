-- Create weekly_panel: one row per coin-week (ISO weeks, week_start = Monday) aggregated from daily_panel.
CREATE TABLE IF NOT EXISTS weekly_panel (
    symbol             VARCHAR NOT NULL,
    week_start         DATE    NOT NULL,  -- Monday 00:00 UTC
    ret                DOUBLE,            -- weekly return by return_rule: last_price = close / prev_close - 1 (NULL when the
                                          -- previous week has no row); complete_week = prod(1 + daily ret) - 1, NULL unless all 7 daily returns exist
    n_days             INTEGER NOT NULL,  -- days with a row in daily_panel
    n_returns          INTEGER NOT NULL,  -- days with a daily return
    close              DOUBLE  NOT NULL,  -- close of the week's last available day (last_date; USD)
    market_cap         DOUBLE,            -- market cap of the week's last available day (NULL stays NULL; USD)
    max_price          DOUBLE  NOT NULL,  -- max daily close of the week
    avg_volume         DOUBLE,            -- mean daily base volume
    avg_dollar_volume  DOUBLE,            -- mean daily dollar volume (USD)
    std_dollar_volume  DOUBLE,            -- sample std of daily dollar volume
    age_weeks          INTEGER NOT NULL,  -- ISO weeks since the coin's first week in daily_panel (0 in the listing week)
    in_universe        BOOLEAN NOT NULL,  -- last_price: market cap >= 1e6 and dollar volume present on last_date;
                                          -- complete_week: last-day market cap >= 1e6 and all 7 days with returns, cap and volume
    -- Nullable: a file written before them gains them (storage.warehouse.ensure_table; NULL until rebuilt, and such
    -- rows were written by the complete_week rule)
    last_date          DATE    NOT NULL,  -- the week's last day with a row in daily_panel (close and market_cap are its values)
    prev_close         DOUBLE,            -- close of the previous ISO week's last available day (NULL: no row that week)
    return_rule        VARCHAR NOT NULL   -- last_price (LTW 2022, default) | complete_week
);
