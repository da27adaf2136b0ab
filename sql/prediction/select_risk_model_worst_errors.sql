-- Select the worst relative diagonal error and the worst stored relative variance error of factor_risk_model_weeks ($start <= week_start < $end).
SELECT max(max_abs_diag_error / nullif(max_sample_var, 0)), max(stored_diag_rel_error)
FROM factor_risk_model_weeks
WHERE week_start >= $start AND week_start < $end;
