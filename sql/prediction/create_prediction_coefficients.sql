-- Create prediction_coefficients: per fold coefficients of every walk-forward model (standardised and original scale).
CREATE TABLE IF NOT EXISTS prediction_coefficients (
    scheme    VARCHAR NOT NULL,
    model     VARCHAR NOT NULL,
    fold      INTEGER NOT NULL,
    feature   VARCHAR NOT NULL,
    coef      DOUBLE,             -- slope on the training-window standardised feature
    raw_coef  DOUBLE              -- slope on the original feature (coef / training sd)
);
