-- Create factor_model_prediction_regimes: walk-forward return forecasts evaluated by past-only regime.
CREATE TABLE IF NOT EXISTS factor_model_prediction_regimes (
    model               VARCHAR NOT NULL,
    regime              VARCHAR NOT NULL,
    n                   INTEGER NOT NULL,   -- test rows
    oos_r2_zero         DOUBLE,
    oos_r2_mean         DOUBLE,
    direction_accuracy  DOUBLE
);
