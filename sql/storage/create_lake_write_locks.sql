-- Create lake_write_locks: one row per name that DuckLake writers serialise on (UPDATE of the row = a delete, so two writers conflict at COMMIT).
CREATE TABLE IF NOT EXISTS lake_write_locks (
    name        VARCHAR NOT NULL,  -- what is serialised, e.g. symbol_ids
    generation  BIGINT NOT NULL    -- bumped by every writer holding it
);
