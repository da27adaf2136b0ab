-- Count the stored funding settlements of the window [$start, $end) whose |funding_rate| exceeds $max_rate or whose interval is not positive.
SELECT count(*) FROM raw_funding_rates
WHERE funding_time >= $start AND funding_time < $end
  AND (abs(funding_rate) > $max_rate OR interval_hours <= 0);
