-- Create neural_beta_learning_curves: per-epoch training loss and validation RMSE of each market's best MLP configuration.
CREATE TABLE IF NOT EXISTS neural_beta_learning_curves (
    market         VARCHAR NOT NULL,  -- FIAT | EQUITY | GOLD | ENERGY | JOINT
    epoch          INTEGER NOT NULL,  -- 1-based
    train_loss     DOUBLE,            -- weighted training MSE (standardised units)
    val_rmse       DOUBLE,            -- validation RMSE of return forecasts (log return per month)
    hidden         INTEGER NOT NULL,
    learning_rate  DOUBLE  NOT NULL,
    activation     VARCHAR NOT NULL
);
