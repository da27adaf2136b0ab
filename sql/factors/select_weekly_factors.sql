-- Select the stored weekly factors of the construction $construction.
SELECT week_start, cmkt, csmb, cmom FROM factor_returns_weekly WHERE construction = $construction ORDER BY week_start;
