-- Create prediction_coef_stability: stability of each model's coefficients across walk-forward folds.
CREATE TABLE IF NOT EXISTS prediction_coef_stability (
    scheme            VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    feature           VARCHAR NOT NULL,
    mean              DOUBLE,             -- mean standardised coefficient
    std               DOUBLE,             -- sd across folds
    t_folds           DOUBLE,             -- mean / (sd / sqrt(folds)); descriptive (folds overlap)
    selection_freq    DOUBLE,             -- share of folds with a non-zero coefficient
    sign_consistency  DOUBLE              -- max(share > 0, share < 0)
);
