-- Count the factor_risk_model rows ($start <= week_start < $end) with an explained ratio outside [0, 1] or a negative residual variance.
SELECT count(*) FROM factor_risk_model
WHERE week_start >= $start AND week_start < $end
  AND (explained_ratio < -1e-12 OR explained_ratio > 1 + 1e-12 OR resid_var < 0);
