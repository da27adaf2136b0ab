-- Create characteristic_ls_weights: Q5 minus Q1 of each LTW characteristic over the week's eligible coins, EW and VW.
CREATE TABLE IF NOT EXISTS characteristic_ls_weights (
    family     VARCHAR NOT NULL,   -- characteristic
    strategy   VARCHAR NOT NULL,   -- <characteristic>_<ew|vw>
    date       DATE NOT NULL,      -- close the characteristic is known at (Sunday of its week)
    symbol     VARCHAR,            -- NULL: a decision that holds nothing
    weight     DOUBLE NOT NULL,
    quantile   DOUBLE,             -- characteristic quintile (1 = lowest)
    signal     DOUBLE              -- the characteristic's value
);
