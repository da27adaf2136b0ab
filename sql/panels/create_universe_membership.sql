-- Create universe_membership: per coin-day, whether the coin was eligible that day and, if not, the first reason why (known that day).
CREATE TABLE IF NOT EXISTS universe_membership (
    symbol          VARCHAR NOT NULL,
    date            DATE    NOT NULL,
    eligible        BOOLEAN NOT NULL,  -- daily_panel.in_universe (market cap >= $1M, a return and a dollar volume)
    reason          VARCHAR,           -- NULL when eligible; else no_data | no_market_cap | below_min_cap | no_return | no_volume
    market_cap      DOUBLE,            -- USD that day (NULL without market data)
    dollar_volume   DOUBLE,            -- USD that day
    last_seen       DATE    NOT NULL,  -- the coin's last day with data on or before date (= date unless no_data)
    days_listed     INTEGER NOT NULL   -- days since the coin's first day with data (0 on it)
);
