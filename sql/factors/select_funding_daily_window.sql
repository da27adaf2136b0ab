-- Select per coin and UTC day the sum of the funding settlements of raw_funding_rates and their count, for $start <= funding_time < $end (the FUND signal's input).
SELECT symbol, CAST(funding_time AS DATE) AS date, sum(funding_rate) AS funding, count(*) AS n_settlements
FROM raw_funding_rates WHERE funding_time >= $start AND funding_time < $end GROUP BY ALL ORDER BY symbol, date;
