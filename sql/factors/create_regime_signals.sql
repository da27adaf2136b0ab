-- Create regime_signals: per coin beta stability, R-squared decay and dated beta regime shifts from rolling_betas.
CREATE TABLE IF NOT EXISTS regime_signals (
    symbol         VARCHAR NOT NULL,
    first_date     DATE,
    last_date      DATE,
    n_estimates    INTEGER NOT NULL,  -- coin-days with a rolling estimate
    beta_mkt_mean  DOUBLE,
    beta_mkt_sd    DOUBLE,
    beta_cv        DOUBLE,            -- sd / |mean| of beta_mkt (stability; large = unstable)
    beta_mkt_last  DOUBLE,
    r2_longrun     DOUBLE,            -- mean R-squared over all estimates
    r2_recent      DOUBLE,            -- mean R-squared over the last recent_days
    r2_decay       DOUBLE,            -- r2_recent - r2_longrun
    max_abs_z      DOUBLE,            -- largest |z| of the beta-change test
    n_shifts       INTEGER NOT NULL,  -- regime-shift events (runs of days with |z| > z_threshold)
    last_shift_date DATE,
    shift_dates    VARCHAR NOT NULL,  -- comma-separated first days of the events
    horizon_days   INTEGER NOT NULL,  -- h: beta compared with its value h days earlier
    z_threshold    DOUBLE  NOT NULL,
    recent_days    INTEGER NOT NULL,
    window_days    INTEGER,           -- rolling window of the betas (days)
    min_obs        INTEGER,
    se_type        VARCHAR            -- standard errors of the betas in the z-test (hc3 | white | hc1 | hac | classical; comma-separated if mixed)
);
