-- Create prediction_forecasts: out-of-sample forecasts of every walk-forward model per coin and formation week.
CREATE TABLE IF NOT EXISTS prediction_forecasts (
    scheme      VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    symbol      VARCHAR NOT NULL,
    week_start  DATE NOT NULL,      -- formation week t (forecast of week t + 1)
    fold        INTEGER NOT NULL,
    y_next      DOUBLE,             -- realised excess return of week t + 1
    forecast    DOUBLE,             -- forecast excess return, or P(up) for direction models
    benchmark   DOUBLE,             -- training mean of y (return) or the training share of up weeks (direction)
    kind        VARCHAR NOT NULL,   -- excess_return | probability_up
    forecast_se      DOUBLE,        -- return models: standard error of the fitted mean, sqrt(x' V x) from the training window (NULL for direction)
    p_up_calibrated  DOUBLE         -- direction models: P(up) calibrated inside the training window (NULL for return)
);
