-- Select each walk-forward fold's training window (the same for every model of a scheme).
SELECT DISTINCT scheme, fold, train_start, train_end FROM prediction_folds;
