-- Select the stored weekly factors of every construction with week_start < $end (the history shown in the metadata).
SELECT week_start, construction, cmkt, csmb, cmom, cvol, cfund, cchain FROM factor_returns_weekly WHERE week_start < $end ORDER BY week_start;
