-- Select every stored long_short_alphas row, by characteristic and weighting.
SELECT * FROM long_short_alphas ORDER BY characteristic, weighting
