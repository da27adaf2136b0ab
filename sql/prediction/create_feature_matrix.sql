-- Create feature_matrix: point-in-time features per coin-week (known at the end of week t) and the next-week targets.
CREATE TABLE IF NOT EXISTS feature_matrix (
    symbol            VARCHAR NOT NULL,
    week_start        DATE    NOT NULL,  -- week t (Monday); every feature uses data up to its Sunday
    target_week       DATE    NOT NULL,  -- week t + 1, whose return is the target
    in_universe       BOOLEAN NOT NULL,  -- eligible in week t (weekly_characteristics)
    mcap              DOUBLE,            -- log last-day market cap (log USD), winsorised
    prc               DOUBLE,            -- log last-day close (log USD), winsorised
    log_maxdprc       DOUBLE,            -- log of the max daily close of the week (log USD)
    r1_0              DOUBLE,            -- return of week t (fraction)
    r2_0              DOUBLE,            -- cumulative return of weeks t-1..t (fraction)
    r3_0              DOUBLE,            -- cumulative return of weeks t-2..t (fraction)
    r4_0              DOUBLE,            -- cumulative return of weeks t-3..t (fraction)
    r4_1              DOUBLE,            -- cumulative return of weeks t-3..t-1 (fraction)
    vol               DOUBLE,            -- log mean daily volume
    prcvol            DOUBLE,            -- log mean daily dollar volume (log USD)
    stdprcvol         DOUBLE,            -- log std of daily dollar volume (log USD)
    age               DOUBLE,            -- weeks since the coin's first week
    beta_mkt          DOUBLE,            -- rolling beta on daily MKT as of the last day of week t
    beta_size         DOUBLE,            -- rolling beta on daily SIZE
    beta_mom          DOUBLE,            -- rolling beta on daily MOM
    beta_alpha        DOUBLE,            -- rolling intercept (fraction per day)
    beta_r2           DOUBLE,            -- rolling regression R-squared
    idio_vol          DOUBLE,            -- rolling residual vol (fraction per day)
    rvol_1w           DOUBLE,            -- sd of the daily returns of week t (fraction per day, >= 5 returns)
    rvol_4w           DOUBLE,            -- sd of the daily returns of weeks t-3..t (fraction per day, >= 20 returns)
    max_ret_1w        DOUBLE,            -- largest daily return of week t (fraction)
    min_ret_1w        DOUBLE,            -- smallest daily return of week t (fraction)
    illiq             DOUBLE,            -- log(1e6 x mean |daily return| / daily dollar volume) (Amihud)
    turnover          DOUBLE,            -- log(avg daily dollar volume / last-day market cap)
    dvol_growth       DOUBLE,            -- log avg dollar volume of t minus log of its mean over t-4..t-1
    rsj_1w            DOUBLE,            -- sum SJ / sum RV over the week's days with a defined RSJ (NULL without rsj_daily)
    log_rv_1w         DOUBLE,            -- log mean daily realised variance
    rskew_1w          DOUBLE,            -- mean daily realised skewness
    rkurt_1w          DOUBLE,            -- mean daily realised kurtosis
    ret_next          DOUBLE,            -- return of week t + 1 (fraction; NULL until stored / incomplete week)
    rf_next           DOUBLE,            -- weekly risk-free rate of week t + 1 (fraction)
    y_next            DOUBLE,            -- TARGET: ret_next - rf_next
    y_up              BOOLEAN,           -- TARGET: y_next > 0 (NULL when y_next is NULL)
    beta_window_days  INTEGER,           -- parameter: rolling-beta window (calendar days)
    rsj_source        VARCHAR NOT NULL,  -- rsj_daily | absent
    min_rsj_days      INTEGER NOT NULL,  -- parameter: days with RSJ a week needs
    beta_vol          DOUBLE,            -- rolling beta on daily VOL (low minus high volatility); NULL when not used
    beta_fund         DOUBLE,            -- rolling beta on daily FUND (low minus high funding); NULL without funding data
    beta_chain        DOUBLE             -- rolling beta on daily CHAIN (on-chain growth); NULL without on-chain data
);
