-- Select the stored weekly factors (LTW and the chapter's) of the construction $construction.
SELECT week_start, cmkt, csmb, cmom, cvol, cfund, cchain FROM factor_returns_weekly WHERE construction = $construction ORDER BY week_start;
