-- Create kelly_weights: long-only fractional Kelly stakes on each direction model's calibrated probability of an up week.
CREATE TABLE IF NOT EXISTS kelly_weights (
    family           VARCHAR NOT NULL,   -- kelly
    strategy         VARCHAR NOT NULL,   -- <model>_<scheme>
    date             DATE NOT NULL,      -- close the signal is known at
    symbol           VARCHAR,            -- NULL: a decision that holds nothing (no positive edge)
    weight           DOUBLE NOT NULL,    -- min(fraction x max(kelly, 0), cap), scaled to max_gross
    kelly            DOUBLE,             -- full-Kelly stake p - (1 - p) / b
    p_up_calibrated  DOUBLE,             -- calibrated P(up) (training window only)
    payoff_ratio     DOUBLE              -- b: mean gain / mean loss of the fold's training window
);
