-- Create raw_funding_rates: validated funding settlements of perpetual contracts, one row per (symbol, funding_time), naive UTC.
CREATE TABLE IF NOT EXISTS raw_funding_rates (
    symbol          VARCHAR   NOT NULL,  -- exchange symbol of the perpetual, e.g. BTCUSDT
    funding_time    TIMESTAMP NOT NULL,  -- settlement instant, naive UTC
    funding_rate    DOUBLE    NOT NULL,  -- per settlement, fraction (0.0001 = 0.01 %); positive = longs pay shorts
    interval_hours  DOUBLE,              -- hours since the symbol's previous settlement (the funding interval, usually 8); NULL when unknown
    source          VARCHAR   NOT NULL   -- simulated | bybit
);
