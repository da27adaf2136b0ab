-- Create factor_model_loadings: per coin and factor loading with its t-stat.
CREATE TABLE IF NOT EXISTS factor_model_loadings (
    symbol            VARCHAR NOT NULL,
    factor            VARCHAR NOT NULL,
    beta              DOUBLE,
    t                 DOUBLE,             -- classical OLS t
    significant_5pct  BOOLEAN NOT NULL    -- |t| > 1.96
);
