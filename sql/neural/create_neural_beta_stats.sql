-- Create neural_beta_stats: per method, model, coin and market the distribution of the stored ex-ante betas (and the error against planted betas).
CREATE TABLE IF NOT EXISTS neural_beta_stats (
    method       VARCHAR NOT NULL,  -- neural_mlp | rolling_ols
    model        VARCHAR NOT NULL,  -- single | joint
    coin         VARCHAR NOT NULL,
    market       VARCHAR NOT NULL,
    n_months     INTEGER NOT NULL,  -- months with a beta
    mean_beta    DOUBLE,
    std_beta     DOUBLE,            -- ddof 1
    skew         DOUBLE,            -- adjusted Fisher-Pearson (pandas skew)
    kurtosis     DOUBLE,            -- plain (Pearson) kurtosis = excess_kurtosis + 3 (3 for a normal; the seed's table)
    excess_kurtosis DOUBLE,         -- excess kurtosis G2, bias-corrected (pandas kurt = scipy kurtosis(bias=False)); NULL below 4 months
    min_beta     DOUBLE,
    max_beta     DOUBLE,
    truth_rmse   DOUBLE,            -- RMSE against the planted beta (univariate for single, structural for joint); NULL for real data
    first_month  DATE    NOT NULL,
    last_month   DATE    NOT NULL
);
