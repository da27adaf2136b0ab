-- Create rejected_rows: every input row that failed validation, with where it came from and why.
CREATE TABLE IF NOT EXISTS rejected_rows (
    dataset         VARCHAR   NOT NULL,  -- table the row was meant for (raw_klines_5m, raw_coin_markets, ...)
    source          VARCHAR   NOT NULL,  -- simulated | files | bybit | coingecko
    symbol          VARCHAR,
    partition_date  DATE      NOT NULL,  -- UTC day of the partition being written
    event_time      TIMESTAMP,           -- the row's own timestamp when it could be parsed
    reason          VARCHAR   NOT NULL,
    raw             VARCHAR   NOT NULL,  -- the row as JSON
    occurrence      INTEGER   NOT NULL   -- 1, 2, ... for identical rejected rows
);
