-- Create rolling_betas: per coin-day rolling OLS of daily excess returns on the daily factors (MKT, SIZE, MOM and VOL, FUND, CHAIN where they exist; data up to the day).
CREATE TABLE IF NOT EXISTS rolling_betas (
    symbol        VARCHAR NOT NULL,
    date          DATE    NOT NULL,  -- last day of the window (estimate as of this day)
    alpha         DOUBLE  NOT NULL,  -- intercept (fraction per day)
    beta_mkt      DOUBLE  NOT NULL,
    beta_size     DOUBLE  NOT NULL,
    beta_mom      DOUBLE  NOT NULL,
    alpha_se      DOUBLE,            -- standard errors of type se_type
    beta_mkt_se   DOUBLE,
    beta_size_se  DOUBLE,
    beta_mom_se   DOUBLE,
    r2            DOUBLE,            -- centred R-squared of the window
    resid_vol     DOUBLE,            -- sqrt(SSR / (n_obs - K - 1)), K factors used (fraction per day)
    n_obs         INTEGER NOT NULL,  -- usable days in the window
    window_days   INTEGER NOT NULL,  -- calendar days per window
    min_obs       INTEGER NOT NULL,  -- minimum usable days for an estimate
    construction  VARCHAR NOT NULL,  -- CMOM construction of the daily factors
    se_type       VARCHAR,           -- hc3 | white (HC0) | hc1 | hac (Newey-West) | classical; NULL in rows stored before it existed (classical)
    se_lags       INTEGER,           -- Newey-West lags of the standard errors (0 for white / hc1 / hc3, NULL for classical)
    beta_vol      DOUBLE,            -- beta on daily VOL; NULL when VOL is not among the factors used
    beta_fund     DOUBLE,            -- beta on daily FUND; NULL when FUND is not used (no funding data)
    beta_chain    DOUBLE,            -- beta on daily CHAIN; NULL when CHAIN is not used (no on-chain data)
    beta_vol_se   DOUBLE,
    beta_fund_se  DOUBLE,
    beta_chain_se DOUBLE,
    factors       VARCHAR            -- the daily factors of the regression, comma-separated (NULL in rows stored before it existed: mkt,size,mom)
);
