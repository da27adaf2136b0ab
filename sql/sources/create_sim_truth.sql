-- Create sim_truth: planted truths of the simulated market in long form (parameters, coin betas, listings, latent factors).
CREATE TABLE IF NOT EXISTS sim_truth (
    category  VARCHAR NOT NULL,  -- parameter | coin | factor
    name      VARCHAR NOT NULL,  -- e.g. size_premium, beta_mkt, list_day, market
    symbol    VARCHAR NOT NULL,  -- '' for market-wide truths
    date      DATE,              -- for dated truths (listings, daily factor returns)
    value     DOUBLE NOT NULL
);
