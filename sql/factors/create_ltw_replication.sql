-- Create ltw_replication: LTW-calendar weekly factors and characteristic portfolios over the whole stored history, long format.
CREATE TABLE IF NOT EXISTS ltw_replication (
    series               VARCHAR NOT NULL,  -- factor | portfolio
    name                 VARCHAR NOT NULL,  -- cmkt, csmb, cmom, mkt_ret, rf | a characteristic
    portfolio            VARCHAR NOT NULL,  -- '' for factors; Q1..Qn or LS
    weighting            VARCHAR NOT NULL,  -- vw | ew
    week_start           DATE    NOT NULL,  -- holding LTW week (Jan 1 + 7 (k - 1) days)
    formation_week       DATE    NOT NULL,
    ret                  DOUBLE,            -- return over the holding week (fraction)
    n_coins              INTEGER NOT NULL,
    calendar             VARCHAR NOT NULL,  -- ltw
    breakpoint_universe  VARCHAR NOT NULL,  -- all | investable
    cmom_construction    VARCHAR NOT NULL,  -- double_sort | single_sort
    n_quantiles          INTEGER NOT NULL,
    rf_source            VARCHAR NOT NULL,
    -- Nullable: a file written before them gains them (storage.warehouse.ensure_table; NULL until rebuilt, and such
    -- rows were written by the complete_week rule)
    return_rule          VARCHAR NOT NULL,  -- last_price (LTW: last available close of the week) | complete_week
    investable_top_n     INTEGER NOT NULL,  -- breakpoint universe "investable": the N largest eligible coins
    vol_column           VARCHAR NOT NULL   -- weekly column whose log is VOL: avg_volume (base coin) | avg_dollar_volume (USD)
);
