-- Select the mean R² of the stored rolling daily factor regressions (rolling_betas).
SELECT avg(r2) FROM rolling_betas;
