-- Select every out-of-sample forecast with what sizing needs (forecast, its standard error, the calibrated probability).
SELECT scheme, model, symbol, week_start, fold, kind, forecast, forecast_se, p_up_calibrated
FROM prediction_forecasts;
