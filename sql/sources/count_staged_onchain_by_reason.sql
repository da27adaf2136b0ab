-- Count the staged on-chain rows per validation reason.
SELECT reason, count(*) FROM staged_onchain GROUP BY reason;
