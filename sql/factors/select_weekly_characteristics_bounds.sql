-- Select the first and last stored weekly_characteristics week (the Fama-MacBeth first step's weeks).
SELECT min(week_start) AS first_week, max(week_start) AS last_week FROM weekly_characteristics;
