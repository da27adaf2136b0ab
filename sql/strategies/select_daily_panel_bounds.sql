-- Select the first and last stored daily_panel day (the RSJ strategy's formation range).
SELECT min(date) AS first_day, max(date) AS last_day FROM daily_panel;
