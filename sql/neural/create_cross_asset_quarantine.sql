-- Create cross_asset_quarantine: monthly returns of cross_asset_monthly held back as implausible (beyond their asset class's bound), each with its reason.
CREATE TABLE IF NOT EXISTS cross_asset_quarantine (
    month_start  DATE    NOT NULL,  -- calendar month of the return (first day)
    series       VARCHAR NOT NULL,  -- coin, market (FIAT, EQUITY, GOLD, ENERGY) or factor
    asset_class  VARCHAR NOT NULL,  -- coin | market | factor
    ret          DOUBLE  NOT NULL,  -- the return as the source gave it (log for coins and markets, simple for factors)
    return_type  VARCHAR NOT NULL,  -- log | simple
    source       VARCHAR NOT NULL,  -- simulated | yfinance_csv | daily_panel | french_csv | linearmodels_french
    seed         BIGINT,            -- simulation seed (NULL for real data)
    bound        DOUBLE  NOT NULL,  -- the largest plausible |ret| of its series or asset class (neural/cross_asset.py OUTLIER_BOUNDS)
    reason       VARCHAR NOT NULL   -- source, series, month, return and bound, in words
);
