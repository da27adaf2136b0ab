-- Create prediction_calibration: reliability tables of the walk-forward direction models' raw and calibrated P(up) over the pooled test rows.
CREATE TABLE IF NOT EXISTS prediction_calibration (
    scheme          VARCHAR NOT NULL,   -- expanding | rolling
    model           VARCHAR NOT NULL,   -- logit_l1 | logit_l2
    kind            VARCHAR NOT NULL,   -- raw (p_up) | calibrated (p_up_calibrated)
    bin             INTEGER NOT NULL,   -- 0-based equal-width probability bin (non-empty bins only)
    bin_lower       DOUBLE NOT NULL,    -- bin / n_bins
    bin_upper       DOUBLE NOT NULL,    -- (bin + 1) / n_bins; the last bin includes 1
    mean_predicted  DOUBLE NOT NULL,    -- mean forecast P(up) of the bin's test rows
    realised_freq   DOUBLE NOT NULL,    -- share of the bin's test rows with y_next > 0
    n               INTEGER NOT NULL    -- test rows (coin-weeks) in the bin
);
