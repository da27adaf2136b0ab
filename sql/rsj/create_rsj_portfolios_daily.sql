-- Create rsj_portfolios_daily: daily RSJ quantile and long-short returns per holding day (long format).
CREATE TABLE IF NOT EXISTS rsj_portfolios_daily (
    date           DATE    NOT NULL,  -- holding day d (the partition): returns close(d) / close(d-1) - 1
    date_formed    DATE    NOT NULL,  -- formation day d-1: RSJ of d-1, universe and weights with data up to d-1
    weighting      VARCHAR NOT NULL,  -- ew | vw
    weight_source  VARCHAR NOT NULL,  -- equal | market_cap | dollar_volume (vw fallback when a cap is missing)
    portfolio      VARCHAR NOT NULL,  -- Q1 (lowest RSJ) .. Q<n_quantiles>, LS = long Q1 - short Q<n_quantiles>
    quantile       INTEGER,           -- 1..n_quantiles; NULL for LS
    gross          DOUBLE,            -- held return over day d before costs (fraction); LS: r_Q1 - r_Qn
    turnover       DOUBLE  NOT NULL,  -- two-sided turnover at formation vs drifted previous weights (LS: both legs)
    cost           DOUBLE  NOT NULL,  -- fee_bps / 1e4 x turnover (fraction), charged to day d
    net            DOUBLE,            -- gross - cost (fraction)
    n_coins        INTEGER NOT NULL,  -- coins actually held over day d (LS: n_long + n_short)
    n_long         INTEGER,           -- LS only: coins held in Q1
    n_short        INTEGER,           -- LS only: coins held in Q<n_quantiles>
    n_universe     INTEGER NOT NULL,  -- coins sorted at formation (top_n by trailing dollar volume with an RSJ and cap >= min_market_cap)
    top_n          INTEGER NOT NULL,  -- parameter: universe size
    trailing_days  INTEGER NOT NULL,  -- parameter: days of the trailing mean dollar volume (t - k, t]
    n_quantiles    INTEGER NOT NULL,  -- parameter
    fee_bps        DOUBLE  NOT NULL,  -- parameter: basis points per unit of turnover
    min_share      DOUBLE,            -- parameter of rsj_daily on the formation day (share of 288 bars needed)
    -- added with the cap filter and balanced legs (an older file gains them, NULL until rebuilt)
    min_market_cap   DOUBLE  NOT NULL,  -- parameter: USD market cap at formation a coin needs (where caps exist); <= 0: off
    cap_filter       VARCHAR NOT NULL,  -- market_cap (applied) | no_caps (no candidate has a cap that day: no filter) | off
    balanced_legs    BOOLEAN NOT NULL,  -- parameter: Q1 and Q<n> hold floor(n_universe / n_quantiles) coins each
    max_zero_share   DOUBLE,            -- parameter of rsj_daily on the formation day (stale threshold)
    include_midnight BOOLEAN            -- parameter of rsj_daily on the formation day (midnight return counted)
);
