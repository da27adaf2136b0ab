-- Create symbol_ids: one dense integer id per exchange symbol (0, 1, 2, ... in order of first ingest), never reused or changed.
CREATE TABLE IF NOT EXISTS symbol_ids (
    symbol     VARCHAR NOT NULL PRIMARY KEY,  -- exchange symbol, e.g. BTCUSDT
    symbol_id  INTEGER NOT NULL UNIQUE        -- dense from 0: per coin-day aggregates group on (symbol_id, date), two integer keys
);
