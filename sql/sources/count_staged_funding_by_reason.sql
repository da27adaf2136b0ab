-- Count the staged funding settlements per validation reason.
SELECT reason, count(*) FROM staged_funding GROUP BY reason;
