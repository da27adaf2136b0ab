-- Create rsj_strategy_weights: the RSJ strategy's daily targets, long Q1 (low RSJ) and short Q5, EW and VW.
CREATE TABLE IF NOT EXISTS rsj_strategy_weights (
    family     VARCHAR NOT NULL,   -- rsj
    strategy   VARCHAR NOT NULL,   -- rsj_<ew|vw>
    date       DATE NOT NULL,      -- formation day (its close)
    symbol     VARCHAR,            -- NULL: a day that formed no portfolio (holds nothing)
    weight     DOUBLE NOT NULL,
    quantile   DOUBLE              -- RSJ quantile of the coin (1 = lowest RSJ)
);
