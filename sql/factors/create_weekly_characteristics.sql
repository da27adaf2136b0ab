-- Create weekly_characteristics: LTW (2022) characteristics per coin-week (ISO weeks) from weekly_panel, with parameters.
CREATE TABLE IF NOT EXISTS weekly_characteristics (
    symbol        VARCHAR NOT NULL,
    week_start    DATE    NOT NULL,  -- formation week (Monday); data up to the end of this week only
    mcap          DOUBLE,            -- log last-day market cap (log USD), winsorised
    prc           DOUBLE,            -- log last-day close (log USD), winsorised
    maxdprc       DOUBLE,            -- max daily close of the week (USD, not logged as LTW), winsorised
    r1_0          DOUBLE,            -- return of week t (fraction)
    r2_0          DOUBLE,            -- cumulative return of weeks t-1..t (fraction)
    r3_0          DOUBLE,            -- cumulative return of weeks t-2..t (fraction; the CMOM signal)
    r4_0          DOUBLE,            -- cumulative return of weeks t-3..t (fraction)
    r4_1          DOUBLE,            -- cumulative return of weeks t-3..t-1 (fraction)
    vol           DOUBLE,            -- log mean daily volume (column vol_column), winsorised
    prcvol        DOUBLE,            -- log mean daily dollar volume (log USD), winsorised
    stdprcvol     DOUBLE,            -- log sample std of daily dollar volume (log USD), winsorised
    age           DOUBLE,            -- weeks since the coin's first week, winsorised
    market_cap    DOUBLE,            -- raw last-day market cap (USD; portfolio weight)
    ret           DOUBLE,            -- return of the week (fraction), NULL unless 7 daily returns
    in_universe   BOOLEAN NOT NULL,  -- eligible: market cap >= $1M, complete week
    winsor_lower  DOUBLE,            -- lower winsorisation quantile (NULL: none)
    winsor_upper  DOUBLE,            -- upper winsorisation quantile (NULL: none)
    winsorize_on  VARCHAR NOT NULL,  -- eligible | all: rows the bounds come from and apply to
    vol_column    VARCHAR NOT NULL,  -- weekly_panel column whose log is vol
    calendar      VARCHAR NOT NULL   -- iso
);
