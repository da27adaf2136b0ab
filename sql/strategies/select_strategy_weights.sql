-- Select every family's target weights (the five weights tables) for the daily book.
SELECT family, strategy, date, symbol, weight FROM forecast_quintile_weights
UNION ALL SELECT family, strategy, date, symbol, weight FROM significance_weights
UNION ALL SELECT family, strategy, date, symbol, weight FROM kelly_weights
UNION ALL SELECT family, strategy, date, symbol, weight FROM characteristic_ls_weights
UNION ALL SELECT family, strategy, date, symbol, weight FROM rsj_strategy_weights;
