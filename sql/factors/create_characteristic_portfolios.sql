-- Create characteristic_portfolios: weekly quantile portfolios on lagged LTW characteristics, EW and VW, plus Qn - Q1 ('LS').
CREATE TABLE IF NOT EXISTS characteristic_portfolios (
    formation_week       DATE    NOT NULL,  -- week t whose characteristics form the portfolios
    week_start           DATE    NOT NULL,  -- holding week t+1 (the partition)
    characteristic       VARCHAR NOT NULL,  -- mcap, prc, ..., age
    portfolio            VARCHAR NOT NULL,  -- Q1..Qn, or LS = Qn - Q1
    quantile             INTEGER,           -- 1..n, NULL for LS
    ew_ret               DOUBLE,            -- equal-weighted return over the holding week (fraction)
    vw_ret               DOUBLE,            -- value-weighted (formation market cap) return (fraction)
    n_coins              INTEGER NOT NULL,  -- coins with a holding-week return (LS: both legs)
    n_formed             INTEGER NOT NULL,  -- coins assigned at formation (LS: both legs)
    n_quantiles          INTEGER NOT NULL,  -- number of portfolios
    breakpoint_universe  VARCHAR NOT NULL,  -- all | investable
    investable_top_n     INTEGER NOT NULL,  -- size of the investable universe (used when investable)
    min_coins            INTEGER NOT NULL,  -- portfolios with fewer coins report NULL returns
    n_delisted           INTEGER,           -- coins without a holding-week return, held at delisting_return
    delisting_return     DOUBLE             -- what they earned (0: out at the last price; NULL: old drop rule)
);
