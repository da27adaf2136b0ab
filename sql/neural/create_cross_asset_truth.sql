-- Create cross_asset_truth: planted monthly betas of the simulated cross-asset market (empty for real data).
CREATE TABLE IF NOT EXISTS cross_asset_truth (
    month_start      DATE    NOT NULL,  -- month the beta applies to
    coin             VARCHAR NOT NULL,
    market           VARCHAR NOT NULL,  -- FIAT | EQUITY | GOLD | ENERGY
    beta             DOUBLE  NOT NULL,  -- structural (multivariate) planted beta (log return per unit log return)
    univariate_beta  DOUBLE  NOT NULL,  -- population slope of a single-market regression (omitted-variable algebra)
    regime           INTEGER NOT NULL,  -- 0 calm, 1 stress
    seed             BIGINT  NOT NULL   -- simulation seed
);
