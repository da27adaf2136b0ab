-- Select the model comparison of one training scheme ($scheme).
SELECT * FROM model_comparison WHERE scheme = $scheme;
