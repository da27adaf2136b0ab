-- Select every stored rsj_portfolios_daily row, by holding day, weighting and portfolio.
SELECT * FROM rsj_portfolios_daily ORDER BY date, weighting, portfolio
