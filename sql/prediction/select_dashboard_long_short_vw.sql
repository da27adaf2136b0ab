-- Select the value-weighted long-short portfolio alphas, by characteristic.
SELECT * FROM long_short_alphas WHERE weighting = 'vw' ORDER BY characteristic;
