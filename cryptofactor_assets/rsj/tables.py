"""Table keys of the RSJ domain (other domains import them from here)."""

RSJ_DAILY = "rsj_daily"
RSJ_PORTFOLIOS_DAILY = "rsj_portfolios_daily"
RSJ_BACKTEST = "rsj_backtest"
