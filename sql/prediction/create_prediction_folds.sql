-- Create prediction_folds: per fold metrics of every walk-forward model and scheme, with the fold's dates.
CREATE TABLE IF NOT EXISTS prediction_folds (
    scheme              VARCHAR NOT NULL,
    model               VARCHAR NOT NULL,
    fold                INTEGER NOT NULL,
    train_start         DATE NOT NULL,      -- first training week
    train_end           DATE NOT NULL,      -- last training week (its target is week train_end + 7)
    test_start          DATE NOT NULL,      -- first test week
    test_end            DATE NOT NULL,      -- last test week
    n_train_periods     INTEGER NOT NULL,
    n_test_periods      INTEGER NOT NULL,
    inner_splits        VARCHAR NOT NULL,   -- inner CV splits train|validation week ranges
    n_train             INTEGER NOT NULL,   -- training rows
    n_test              INTEGER NOT NULL,   -- test rows
    penalty             DOUBLE,             -- chosen per-observation penalty (NULL for OLS)
    is_r2               DOUBLE,
    is_r2_zero          DOUBLE,
    oos_r2_zero         DOUBLE,
    oos_r2_mean         DOUBLE,
    ic_mean             DOUBLE,
    direction_accuracy  DOUBLE,
    brier               DOUBLE,
    sparsity            DOUBLE,
    embargo             INTEGER NOT NULL,
    test_periods        INTEGER NOT NULL,
    train_periods       INTEGER NOT NULL,
    n_inner_splits      INTEGER NOT NULL
);
