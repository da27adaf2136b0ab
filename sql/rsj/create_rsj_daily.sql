-- Create rsj_daily: RV, semivariances, signed jump, RSJ, skewness, kurtosis per coin-day (UTC).
CREATE TABLE IF NOT EXISTS rsj_daily (
    symbol     VARCHAR NOT NULL,
    date       DATE    NOT NULL,  -- UTC day of the bars' open_time
    n_bars     INTEGER NOT NULL,  -- stored 5-minute bars that day (288 when complete)
    n_returns  INTEGER NOT NULL,  -- 5-minute log returns (none across a gap): 288 on a complete day with the midnight return, else 287
    rv         DOUBLE  NOT NULL,  -- realised variance sum r^2 (0 for an empty sum)
    rs_pos     DOUBLE  NOT NULL,  -- good semivariance sum r^2 1{r > 0}
    rs_neg     DOUBLE  NOT NULL,  -- bad semivariance sum r^2 1{r < 0}
    sj         DOUBLE  NOT NULL,  -- signed jump rs_pos - rs_neg
    rsj        DOUBLE,            -- relative signed jump sj / rv in [-1, 1]; NULL when reason is set
    rskew      DOUBLE,            -- sqrt(n) sum r^3 / rv^1.5, n = n_returns (Amaya et al. 2015)
    rkurt      DOUBLE,            -- realised kurtosis n sum r^4 / rv^2 (Amaya et al. 2015)
    min_share  DOUBLE  NOT NULL,  -- parameter: a coin-day needs n_bars >= min_share * 288
    reason     VARCHAR,           -- NULL when rsj is defined, else (first that applies) too_few_bars | zero_rv | stale
    -- added with the midnight return and the stale filter; nullable: an older file gains them (NULL until its
    -- partitions are rebuilt), rsj_daily_asset always fills them
    n_zero           INTEGER,           -- returns exactly 0 (no price change over the 5 minutes)
    max_zero_share   DOUBLE,            -- parameter: n_zero > max_zero_share * n_returns means stale (1: no filter)
    include_midnight BOOLEAN            -- parameter: the 00:00 bar's return from the previous day's 23:55 close counted
);
