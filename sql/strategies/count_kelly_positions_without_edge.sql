-- Count Kelly positions held without a positive full-Kelly edge (the calibrated edge p - (1 - p) / b) or with a non-positive weight.
SELECT count(*) FROM kelly_weights
WHERE symbol IS NOT NULL AND (NOT (kelly > 0) OR NOT (weight > 0));
