-- Create factor_model_regimes: regime validation on past-only bull / bear / high-vol / low-vol labels from CMKT.
CREATE TABLE IF NOT EXISTS factor_model_regimes (
    regime                  VARCHAR NOT NULL,
    n_periods               INTEGER NOT NULL,   -- weeks
    mean_cmkt               DOUBLE,
    mean_csmb               DOUBLE,
    mean_cmom               DOUBLE,
    r2_in_regime_betas      DOUBLE,             -- pooled R-squared in the regime with betas fitted inside it
    r2_out_of_regime_betas  DOUBLE,             -- same with betas fitted on the other labelled weeks
    lookback                INTEGER NOT NULL    -- weeks of the trailing labels
);
