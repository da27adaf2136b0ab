-- Create factor_returns_daily: daily MKT, SIZE, MOM (LTW construction at daily frequency) and the chapter's VOL, FUND, CHAIN, for the rolling regressions.
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
    delisting_return     DOUBLE,            -- what they earned (0: out at the last price; NULL: old drop rule)
    vol                  DOUBLE,            -- low minus high trailing volatility (sd of the last vol_lookback daily returns), as construction (fraction)
    fund                 DOUBLE,            -- low minus high funding paid over the last fund_lookback days (carry direction); NULL without funding data
    chain                DOUBLE,            -- high minus low on-chain activity growth (chain_short / chain_long days); NULL without on-chain data
    n_vol_long           INTEGER,           -- coins in VOL's long legs (low volatility), summed over the size halves for double_sort
    n_vol_short          INTEGER,
    n_fund_long          INTEGER,           -- coins in FUND's long legs (low funding)
    n_fund_short         INTEGER,
    n_chain_long         INTEGER,           -- coins in CHAIN's long legs (high activity growth)
    n_chain_short        INTEGER,
    vol_lookback         INTEGER,           -- days of the volatility signal (30)
    fund_lookback        INTEGER,           -- days of the funding signal (7)
    chain_short          INTEGER,           -- recent days of the on-chain growth signal (7)
    chain_long           INTEGER,           -- days before them it is compared with (28)
    chain_measure        VARCHAR            -- active_addresses | tx_count
);
