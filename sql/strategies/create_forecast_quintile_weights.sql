-- Create forecast_quintile_weights: top minus bottom quintile of each regression model's forecast, decided at the week's close.
CREATE TABLE IF NOT EXISTS forecast_quintile_weights (
    family     VARCHAR NOT NULL,   -- forecast_quintile
    strategy   VARCHAR NOT NULL,   -- <model>_<scheme>_<ew|vw>
    date       DATE NOT NULL,      -- close the signal is known at (Sunday of the forecast's formation week)
    symbol     VARCHAR,            -- NULL: a decision that holds nothing
    weight     DOUBLE NOT NULL,    -- target weight (fraction of the book; long +, short -)
    quantile   DOUBLE,             -- forecast quintile of the coin (1 = lowest)
    forecast   DOUBLE              -- forecast excess return of the next week
);
