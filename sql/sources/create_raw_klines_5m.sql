-- Create raw_klines_5m: validated 5-minute bars, one row per (symbol, open_time), open_time naive UTC.
CREATE TABLE IF NOT EXISTS raw_klines_5m (
    symbol     VARCHAR   NOT NULL,  -- exchange symbol, e.g. BTCUSDT
    symbol_id  INTEGER   NOT NULL,  -- symbol_ids.symbol_id (dense integer key: coin-day aggregates group on integers)
    open_time  TIMESTAMP NOT NULL,  -- bar open time, naive UTC, on the 5-minute grid
    open       DOUBLE    NOT NULL,  -- quote currency (USDT)
    high       DOUBLE    NOT NULL,
    low        DOUBLE    NOT NULL,
    close      DOUBLE    NOT NULL,
    volume     DOUBLE    NOT NULL,  -- base-coin quantity
    turnover   DOUBLE,              -- quote-currency value traded (NULL when the source lacks it)
    log_ret    DOUBLE,              -- ln(close / previous bar's close) when the previous bar of the same symbol and UTC day is exactly 5 minutes earlier, else NULL
    source     VARCHAR   NOT NULL  -- simulated | files | bybit
);
