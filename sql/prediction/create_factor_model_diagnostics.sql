-- Create factor_model_diagnostics: headline figures of the factor-model diagnostics (one row per metric).
CREATE TABLE IF NOT EXISTS factor_model_diagnostics (
    section       VARCHAR NOT NULL,   -- time_series | cross_section | loadings | residual_tests | rolling_validation | regimes
    metric        VARCHAR NOT NULL,
    value         DOUBLE,
    detail        VARCHAR,
    construction  VARCHAR NOT NULL    -- CMOM construction of the weekly factors
);
