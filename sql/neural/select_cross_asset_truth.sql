-- Select the planted betas of cross_asset_truth (every stored month).
SELECT month_start, coin, market, beta, univariate_beta FROM cross_asset_truth;
