-- Create significance_weights: dollar-neutral weights proportional to each regression forecast's t-statistic.
CREATE TABLE IF NOT EXISTS significance_weights (
    family       VARCHAR NOT NULL,   -- significance
    strategy     VARCHAR NOT NULL,   -- <model>_<scheme>
    date         DATE NOT NULL,      -- close the signal is known at
    symbol       VARCHAR,            -- NULL: a decision that holds nothing
    weight       DOUBLE NOT NULL,    -- L (z - mean z) / sum |z - mean z|
    z            DOUBLE,             -- forecast / forecast_se
    forecast     DOUBLE,             -- forecast excess return of the next week
    forecast_se  DOUBLE              -- standard error of the fitted conditional mean
);
