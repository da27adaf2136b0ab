-- Create prediction_selected_features: features selected by the walk-forward Lasso (last fold and frequency over folds).
CREATE TABLE IF NOT EXISTS prediction_selected_features (
    scheme          VARCHAR NOT NULL,
    feature         VARCHAR NOT NULL,
    selected_last   BOOLEAN NOT NULL,   -- non-zero in the last fold
    coef_last       DOUBLE,             -- standardised coefficient in the last fold
    selection_freq  DOUBLE              -- share of folds with a non-zero coefficient
);
