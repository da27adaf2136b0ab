"""Default parameters of the neural-beta tables, defined once: the run configs, the pure table
functions and the lineage's look-back all read them from here."""

#: Months in the MLP's look-back window (features of months m-12 .. m-1).
LOOKBACK = 12
#: Minimum training months per coin before a beta is produced.
MIN_TRAIN = 36
#: Months between refits, anchored on the calendar (6: January and July).
REFIT_EVERY = 6
#: Rolling-OLS baseline: window and minimum complete months per window.
OLS_WINDOW = 12
OLS_MIN_OBS = 12
#: Minimum history a neural beta needs (look-back + training months), declared in the lineage.
NEURAL_LOOKBACK_MONTHS = LOOKBACK + MIN_TRAIN
#: Grid search: shares of the target months (after the look-back) in the train and validation blocks;
#: the test block is the rest, the latest months.
GRID_TRAIN_FRACTION = 0.6
GRID_VAL_FRACTION = 0.2
#: Months of the rolling FF5 regression of forecast residuals.
FF_WINDOW = 12
#: Beta-sorted portfolios: groups, and the fewest sortable coins of a month.
N_GROUPS = 4
MIN_COINS = 4
