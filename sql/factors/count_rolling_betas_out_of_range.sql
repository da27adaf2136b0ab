-- Count rolling_betas rows with $start <= date < $end whose R², residual vol or n_obs is out of range.
SELECT count(*) FROM rolling_betas WHERE date >= $start AND date < $end AND (r2 < -1e-12 OR r2 > 1 + 1e-12 OR resid_vol <= 0 OR n_obs < min_obs);
