-- Create rsj_backtest: backtest statistics of the RSJ portfolios over all stored days (long format).
CREATE TABLE IF NOT EXISTS rsj_backtest (
    portfolio      VARCHAR NOT NULL,  -- LS (long Q1 - short Qn) or Q1..Qn
    weighting      VARCHAR NOT NULL,  -- ew | vw
    returns        VARCHAR NOT NULL,  -- gross | net (of fee_bps x turnover)
    stat           VARCHAR NOT NULL,  -- a BacktestReport field: mean, ann_return, sharpe, beta, alpha_t_nw...
    value          DOUBLE,            -- returns as fractions (per day or annualised), ratios and t-stats plain
    first_date     DATE    NOT NULL,  -- first holding day of the series
    last_date      DATE    NOT NULL,  -- last holding day
    market_source  VARCHAR NOT NULL,  -- factor_returns_daily.mkt | daily_panel_ew (market of beta / alpha)
    nw_lag_rule    VARCHAR NOT NULL,  -- Newey-West lag rule or integer lag (the lag used is stat nw_lags)
    top_n          INTEGER NOT NULL,  -- parameters of the portfolios (single values over the stored rows)
    trailing_days  INTEGER NOT NULL,
    n_quantiles    INTEGER NOT NULL,
    fee_bps        DOUBLE  NOT NULL,
    min_share      DOUBLE,
    min_market_cap   DOUBLE,            -- (added with the cap filter, balanced legs and rsj_daily's new parameters)
    balanced_legs    BOOLEAN,
    max_zero_share   DOUBLE,
    include_midnight BOOLEAN
);
