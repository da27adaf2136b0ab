-- Create factor_returns_weekly: LTW CMKT, CSMB, CMOM per holding week (ISO), one row per CMOM construction.
CREATE TABLE IF NOT EXISTS factor_returns_weekly (
    week_start           DATE    NOT NULL,  -- holding week t+1 (the partition)
    formation_week       DATE    NOT NULL,  -- week t (portfolio formation, market-cap weights)
    construction         VARCHAR NOT NULL,  -- CMOM construction: double_sort (JF 2x3) | single_sort (WP 30/40/30)
    cmkt                 DOUBLE,            -- VW universe return minus rf (fraction per week)
    csmb                 DOUBLE,            -- VW bottom 30 % minus VW top 30 % by market cap (fraction)
    cmom                 DOUBLE,            -- winners minus losers on r3_0 (fraction)
    rf                   DOUBLE,            -- risk-free return of the week (fraction; 0 by default, see rf_source)
    mkt_ret              DOUBLE,            -- VW universe return before rf (fraction)
    n_coins              INTEGER NOT NULL,  -- coins in the market portfolio with a return
    n_small              INTEGER NOT NULL,
    n_big                INTEGER NOT NULL,
    n_mom_long           INTEGER NOT NULL,
    n_mom_short          INTEGER NOT NULL,
    breakpoint_universe  VARCHAR NOT NULL,  -- all | investable
    investable_top_n     INTEGER NOT NULL,
    calendar             VARCHAR NOT NULL,  -- iso
    rf_source            VARCHAR NOT NULL,  -- where rf comes from (CSV file, constant or 0)
    n_delisted           INTEGER,           -- universe coins without a holding-week return, held at delisting_return
    delisting_return     DOUBLE             -- what they earned (0: out at the last price; NULL: old drop rule)
);
