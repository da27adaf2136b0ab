-- Select the stored Q5 - Q1 (LS) characteristic portfolios of every week.
SELECT * FROM characteristic_portfolios WHERE portfolio = 'LS' ORDER BY week_start;
