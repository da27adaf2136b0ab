-- Select every stored strategy day (the comparison's input).
SELECT * FROM strategy_returns;
