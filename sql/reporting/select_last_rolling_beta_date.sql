-- Select the last estimation day of rolling_betas.
SELECT max(date) FROM rolling_betas
