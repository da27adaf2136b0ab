-- Select the stored walk-forward forecasts of one training scheme ($scheme).
SELECT * FROM prediction_forecasts WHERE scheme = $scheme;
