-- Create factor_returns_weekly: LTW CMKT, CSMB, CMOM and the chapter's CVOL, CFUND, CCHAIN per holding week (ISO), one row per construction.
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
    delisting_return     DOUBLE,            -- what they earned (0: out at the last price; NULL: old drop rule)
    cvol                 DOUBLE,            -- low minus high volatility of the daily returns of weeks t-3..t, as construction (fraction)
    cfund                DOUBLE,            -- low minus high funding paid over week t (carry direction); NULL without funding data
    cchain               DOUBLE,            -- high minus low on-chain activity growth at the end of week t; NULL without on-chain data
    n_cvol_long          INTEGER,           -- coins in CVOL's long legs (low volatility)
    n_cvol_short         INTEGER,
    n_cfund_long         INTEGER,           -- coins in CFUND's long legs (low funding)
    n_cfund_short        INTEGER,
    n_cchain_long        INTEGER,           -- coins in CCHAIN's long legs (high activity growth)
    n_cchain_short       INTEGER,
    momentum_signal      VARCHAR,           -- CMOM's signal: r3_0 (LTW, 3 weeks) | r4_0 (4 weeks, the nearest to the chapter's 30 days)
    vol_lookback         INTEGER,           -- days of the volatility signal (28: weeks t-3..t)
    fund_lookback        INTEGER,           -- days of the funding signal (7: week t)
    chain_short          INTEGER,           -- recent days of the on-chain growth signal (7)
    chain_long           INTEGER,           -- days before them it is compared with (28)
    chain_measure        VARCHAR            -- active_addresses | tx_count
);
