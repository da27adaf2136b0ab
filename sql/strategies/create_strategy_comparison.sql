-- Create strategy_comparison: every strategy, gross and net, with its performance, cost drag and factor exposures.
CREATE TABLE IF NOT EXISTS strategy_comparison (
    family             VARCHAR NOT NULL,
    strategy           VARCHAR NOT NULL,
    basis              VARCHAR NOT NULL,   -- gross | net
    start              DATE,
    "end"              DATE,
    n_days             INTEGER NOT NULL,
    ann_return         DOUBLE,             -- 365 x mean daily return (arithmetic)
    cagr               DOUBLE,             -- geometric annual return
    ann_vol            DOUBLE,
    sharpe             DOUBLE,             -- annualised, no risk-free rate (zero-investment or excess books)
    sharpe_t_nw        DOUBLE,             -- Newey-West t of the mean daily return
    sortino            DOUBLE,
    max_drawdown       DOUBLE,
    max_drawdown_days  INTEGER,            -- longest drawdown spell (days from a peak to its recovery or the end)
    win_rate           DOUBLE,
    turnover_ann       DOUBLE,             -- 365 x mean daily turnover
    fee_drag           DOUBLE,             -- annualised mean fee (365 x mean), the same on both rows
    spread_drag        DOUBLE,
    funding_drag       DOUBLE,
    cost_drag          DOUBLE,             -- fee + spread + funding drag = ann. gross - ann. net
    cmkt_beta          DOUBLE,             -- beta on the daily market factor (mkt)
    cmkt_beta_t_nw     DOUBLE,
    alpha_3f_ann       DOUBLE,             -- annualised intercept of the regression on mkt, size, mom (NW)
    alpha_3f_t_nw      DOUBLE,
    r2_3f              DOUBLE,
    n_factor_days      INTEGER,
    nw_lags            INTEGER,
    venue              VARCHAR NOT NULL,
    side               VARCHAR NOT NULL,
    fee_bps            DOUBLE NOT NULL,
    spread_model       VARCHAR NOT NULL,
    spread_bps         DOUBLE NOT NULL,
    funding_charged    BOOLEAN NOT NULL,   -- perpetual venue with funding on
    lag_days           INTEGER NOT NULL,
    delisting_return   DOUBLE NOT NULL,    -- earned the day after a coin's data end for good
    n_delisted         INTEGER NOT NULL    -- positions closed by a delisting over the whole run
);
