-- Select cross_asset_monthly rows with month_start < $end (the history an estimator for months before $end may use).
SELECT month_start, series, asset_class, ret FROM cross_asset_monthly WHERE month_start < $end ORDER BY month_start, series;
