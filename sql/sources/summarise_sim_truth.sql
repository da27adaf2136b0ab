-- Summarise sim_truth per (category, name): count and mean (factor returns of market and smb only), first 30.
SELECT category, name, count(*) AS n, avg(value) AS mean FROM sim_truth
WHERE category <> 'factor' OR name IN ('market', 'smb') GROUP BY ALL ORDER BY ALL LIMIT 30;
