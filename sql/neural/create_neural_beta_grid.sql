-- Create neural_beta_grid: every network configuration per target (markets, combinations, JOINT), fitted on the train block, selected on the validation block, scored on the later test block.
CREATE TABLE IF NOT EXISTS neural_beta_grid (
    market                   VARCHAR NOT NULL,  -- target: FIAT | EQUITY | GOLD | ENERGY | FIAT+EQUITY | FIAT+GOLD | JOINT
    n_outputs                INTEGER NOT NULL,  -- K: betas (network outputs) of the target's model
    hidden                   INTEGER NOT NULL,  -- hidden units
    learning_rate            DOUBLE  NOT NULL,  -- Adam learning rate
    activation               VARCHAR NOT NULL,  -- identity | logistic | tanh | relu
    l2                       DOUBLE  NOT NULL,  -- L2 penalty on the weights
    epochs                   INTEGER NOT NULL,  -- full-batch Adam steps per fit
    n_seeds                  INTEGER NOT NULL,  -- ensemble members (initial weights)
    random_state             INTEGER NOT NULL,  -- seed of the members' initial weights
    early_stopping_fraction  DOUBLE  NOT NULL,  -- latest share of the train block's months held out for early stopping
    inputs                   VARCHAR NOT NULL,  -- input blocks, e.g. moments+state+anchor
    train_rmse_std           DOUBLE,            -- RMSE on the train block (standardised units)
    val_rmse                 DOUBLE,            -- validation-block RMSE of the return forecast (log return per month): selects
    test_rmse                DOUBLE,            -- test-block RMSE (log return per month): reported, never used for selection
    rank                     INTEGER NOT NULL,  -- 1 = lowest validation RMSE within the target
    is_best                  BOOLEAN NOT NULL,  -- the target's winner (rank 1)
    lookback                 INTEGER NOT NULL,  -- look-back months of the inputs
    train_fraction           DOUBLE  NOT NULL,  -- share of the target months in the train block
    val_fraction             DOUBLE  NOT NULL,  -- share in the validation block (the test block is the rest)
    train_first              DATE    NOT NULL,  -- first and last target month of each block
    train_last               DATE    NOT NULL,
    val_first                DATE    NOT NULL,
    val_last                 DATE    NOT NULL,
    test_first               DATE    NOT NULL,
    test_last                DATE    NOT NULL,
    first_month              DATE    NOT NULL,  -- history used (look-back included)
    last_month               DATE    NOT NULL,
    n_coins                  INTEGER NOT NULL   -- coins with enough train-block months
);
