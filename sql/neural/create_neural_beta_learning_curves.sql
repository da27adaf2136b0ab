-- Create neural_beta_learning_curves: per-epoch training MSE and early-stopping MSE of each target's winning network configuration.
CREATE TABLE IF NOT EXISTS neural_beta_learning_curves (
    market         VARCHAR NOT NULL,  -- target: FIAT | EQUITY | GOLD | ENERGY | FIAT+EQUITY | FIAT+GOLD | JOINT
    epoch          INTEGER NOT NULL,  -- 1-based full-batch Adam step
    train_mse      DOUBLE,            -- training MSE, members' mean (standardised units, without the penalty)
    val_mse        DOUBLE,            -- MSE of the ensemble forecast on the early-stopping months (standardised units)
    hidden         INTEGER NOT NULL,
    learning_rate  DOUBLE  NOT NULL,
    activation     VARCHAR NOT NULL
);
