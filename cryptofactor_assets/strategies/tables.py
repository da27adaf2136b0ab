"""Table keys of the strategies domain (other domains import them from here)."""

FORECAST_QUINTILE_WEIGHTS = "forecast_quintile_weights"
SIGNIFICANCE_WEIGHTS = "significance_weights"
KELLY_WEIGHTS = "kelly_weights"
CHARACTERISTIC_LS_WEIGHTS = "characteristic_ls_weights"
RSJ_STRATEGY_WEIGHTS = "rsj_strategy_weights"
STRATEGY_RETURNS = "strategy_returns"
STRATEGY_COMPARISON = "strategy_comparison"
STRATEGY_ATTRIBUTION = "strategy_attribution"

#: The families' weights tables (``strategy_returns`` reads them all).
WEIGHTS_TABLES = (FORECAST_QUINTILE_WEIGHTS, SIGNIFICANCE_WEIGHTS, KELLY_WEIGHTS, CHARACTERISTIC_LS_WEIGHTS,
                  RSJ_STRATEGY_WEIGHTS)
