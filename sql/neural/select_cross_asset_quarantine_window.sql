-- Select the quarantined cross-asset returns of months [$start, $end), with their reasons.
SELECT month_start, series, asset_class, source, ret, bound, reason FROM cross_asset_quarantine WHERE month_start >= $start AND month_start < $end ORDER BY month_start, series;
