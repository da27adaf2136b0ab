-- Create neural_betas: ex-ante monthly betas of coins to each market and to all markets jointly (neural network, its implied single-market betas, rolling-OLS baseline), from data before the month.
CREATE TABLE IF NOT EXISTS neural_betas (
    month_start    DATE    NOT NULL,  -- month the beta is for (estimated from months < month_start only)
    coin           VARCHAR NOT NULL,
    market         VARCHAR NOT NULL,  -- FIAT | EQUITY | GOLD | ENERGY
    model          VARCHAR NOT NULL,  -- single (one market at a time) | joint (all markets in one model)
    method         VARCHAR NOT NULL,  -- neural_mlp | neural_implied (single-market betas implied by the joint network) | rolling_ols
    beta           DOUBLE  NOT NULL,  -- coin log return per unit market log return
    alpha          DOUBLE,            -- intercept (log return per month); joint rows repeat the model's intercept; NULL for neural_implied
    beta_spread    DOUBLE,            -- neural_mlp: standard deviation of the beta across the ensemble's seeds
    window_months  INTEGER NOT NULL,  -- MLP look-back / OLS window (months)
    min_obs        INTEGER NOT NULL,  -- MLP: minimum training months per coin; OLS: minimum complete months per window
    refit_month    DATE,              -- MLP: month the network was trained at (data < refit_month); NULL for OLS
    refit_every    INTEGER,           -- MLP: months between refits (calendar-anchored); NULL for OLS
    train_start    DATE    NOT NULL,  -- first month of the stored history used
    hidden         INTEGER,           -- MLP hidden units (NULL for OLS)
    learning_rate  DOUBLE,            -- MLP Adam learning rate
    activation     VARCHAR,           -- MLP activation
    l2             DOUBLE,            -- MLP L2 penalty on the weights
    max_iter       INTEGER,           -- MLP full-batch Adam epochs per fit (early stopping keeps the best)
    n_backfit      INTEGER,           -- retired (backfitting of the scikit-learn networks); NULL
    random_state   INTEGER,           -- MLP seed
    pooled         BOOLEAN,           -- MLP: one network shared by all coins
    n_seeds        INTEGER,           -- MLP: ensemble members (initial-weight seeds)
    inputs         VARCHAR,           -- MLP: input blocks (beta_net.INPUT_BLOCKS joined by +)
    config_source  VARCHAR            -- MLP: run_config | grid winners (the neural_beta_grid run's validation block)
);
