-- Count the staged klines per validation reason.
SELECT reason, count(*) FROM staged_klines GROUP BY reason;
