-- Count the factor rows of risk_model_validation whose betas or variances differ from the stored factor_risk_model by more than $tol, and the rows compared.
SELECT count(*) FILTER (WHERE max_abs_beta_diff_stored > $tol OR max_rel_var_diff_stored > $tol) AS unmatched,
       count(max_abs_beta_diff_stored) AS compared
FROM risk_model_validation WHERE method = 'factor'
