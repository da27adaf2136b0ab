-- Create neural_beta_grid: validation RMSE of every MLP configuration per market (and JOINT), best configuration flagged.
CREATE TABLE IF NOT EXISTS neural_beta_grid (
    market          VARCHAR NOT NULL,  -- FIAT | EQUITY | GOLD | ENERGY | JOINT
    hidden          INTEGER NOT NULL,  -- hidden units
    learning_rate   DOUBLE  NOT NULL,  -- Adam initial learning rate
    activation      VARCHAR NOT NULL,  -- identity | logistic | tanh | relu
    l2              DOUBLE  NOT NULL,  -- L2 penalty (scikit-learn alpha)
    max_iter        INTEGER NOT NULL,  -- epochs per fit
    train_rmse_std  DOUBLE,            -- training RMSE (standardised units)
    val_rmse        DOUBLE,            -- validation RMSE of return forecasts (log return per month)
    rank            INTEGER NOT NULL,  -- 1 = best within the market
    is_best         BOOLEAN NOT NULL,  -- the market's chosen configuration
    lookback        INTEGER NOT NULL,  -- look-back months of the features
    val_fraction    DOUBLE  NOT NULL,  -- last fraction of the months used for validation
    first_month     DATE    NOT NULL,  -- sample used
    last_month      DATE    NOT NULL,
    n_coins         INTEGER NOT NULL
);
