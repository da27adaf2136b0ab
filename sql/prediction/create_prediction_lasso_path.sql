-- Create prediction_lasso_path: Lasso coefficient path (standardised) on the last training window of each scheme.
CREATE TABLE IF NOT EXISTS prediction_lasso_path (
    scheme       VARCHAR NOT NULL,
    alpha        DOUBLE NOT NULL,    -- scikit-learn Lasso penalty
    feature      VARCHAR NOT NULL,
    coef         DOUBLE,             -- standardised coefficient
    train_start  DATE NOT NULL,
    train_end    DATE NOT NULL
);
