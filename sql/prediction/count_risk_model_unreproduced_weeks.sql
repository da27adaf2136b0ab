-- Count the factor_risk_model_weeks rows ($start <= week_start < $end, >= 2 complete coins) not reproducing the sample covariance (tolerance $rtol).
SELECT count(*) FROM factor_risk_model_weeks
WHERE week_start >= $start AND week_start < $end
  AND n_complete_coins >= 2 AND (NOT reproduction_ok OR stored_diag_rel_error > $rtol);
