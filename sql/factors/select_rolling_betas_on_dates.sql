-- Select rolling_betas rows on the dates of the list $dates (betas as of given days).
SELECT * FROM rolling_betas WHERE list_contains($dates, date) ORDER BY date, symbol;
