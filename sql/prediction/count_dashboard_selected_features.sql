-- Count the Lasso features selected on the last training window, and all features, of one scheme ($scheme).
SELECT count(*) FILTER (WHERE selected_last), count(*) FROM prediction_selected_features WHERE scheme = $scheme;
