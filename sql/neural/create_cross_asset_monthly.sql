-- Create cross_asset_monthly: monthly returns of coins, the four asset classes (FIAT, EQUITY, GOLD, ENERGY) and the Fama-French five factors.
CREATE TABLE IF NOT EXISTS cross_asset_monthly (
    month_start  DATE    NOT NULL,  -- calendar month of the return (first day)
    series       VARCHAR NOT NULL,  -- coin (BTC...), market (FIAT, EQUITY, GOLD, ENERGY) or factor (Mkt-RF, SMB, HML, RMW, CMA, RF)
    asset_class  VARCHAR NOT NULL,  -- coin | market | factor
    ret          DOUBLE  NOT NULL,  -- monthly return (fraction): log return for coins and markets, decimal simple return for factors
    return_type  VARCHAR NOT NULL,  -- log | simple
    source       VARCHAR NOT NULL,  -- simulated | yfinance_csv | daily_panel (coins from the stored panel) | french_csv | linearmodels_french
    seed         BIGINT             -- simulation seed (NULL for real data)
);
