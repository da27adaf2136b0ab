-- Create factor_returns_daily: daily MKT, SIZE, MOM (LTW construction at daily frequency) for the rolling regressions.
CREATE TABLE IF NOT EXISTS factor_returns_daily (
    date                 DATE    NOT NULL,  -- holding day d (the partition)
    formation_date       DATE    NOT NULL,  -- day d-1 (portfolio formation, market-cap weights)
    mkt                  DOUBLE,            -- VW universe return minus rf (fraction per day)
    size                 DOUBLE,            -- VW bottom 30 % minus VW top 30 % by market cap (fraction)
    mom                  DOUBLE,            -- winners minus losers on the past momentum_lookback days (fraction)
    rf                   DOUBLE,            -- risk-free return of the day (fraction)
    mkt_ret              DOUBLE,            -- VW universe return before rf (fraction)
    n_coins              INTEGER NOT NULL,
    n_small              INTEGER NOT NULL,
    n_big                INTEGER NOT NULL,
    n_mom_long           INTEGER NOT NULL,
    n_mom_short          INTEGER NOT NULL,
    construction         VARCHAR NOT NULL,  -- double_sort | single_sort
    breakpoint_universe  VARCHAR NOT NULL,  -- all | investable
    investable_top_n     INTEGER NOT NULL,
    momentum_lookback    INTEGER NOT NULL,  -- days of the momentum signal (21 = LTW's 3 weeks)
    rf_source            VARCHAR NOT NULL,
    n_delisted           INTEGER,           -- universe coins without a next-day return, held at delisting_return
    delisting_return     DOUBLE             -- what they earned (0: out at the last price; NULL: old drop rule)
);
