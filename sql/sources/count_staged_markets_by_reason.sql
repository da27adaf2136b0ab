-- Count the staged coin markets per validation reason.
SELECT reason, count(*) FROM staged_markets GROUP BY reason;
