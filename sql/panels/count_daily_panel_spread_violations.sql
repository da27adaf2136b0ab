-- Count the daily_panel rows of [$start, $end) with a non-finite or negative spread, a spread defined unless pairs >= $min_pairs, or more pairs than bars - 1.
SELECT count(*) FROM daily_panel
WHERE date >= $start AND date < $end AND (
      NOT isfinite(spread_cs) OR spread_cs < 0
   OR NOT isfinite(spread_ar) OR spread_ar < 0
   OR (spread_cs IS NOT NULL) <> (n_spread_pairs >= $min_pairs)
   OR (spread_ar IS NOT NULL) <> (n_spread_pairs >= $min_pairs)
   OR n_spread_pairs < 0 OR n_spread_pairs > greatest(n_bars - 1, 0))
