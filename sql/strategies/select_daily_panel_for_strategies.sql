-- Select the daily returns, caps and spread estimates of every stored coin-day (the book's market).
SELECT symbol, date, ret, market_cap, spread_cs, spread_ar FROM daily_panel;
