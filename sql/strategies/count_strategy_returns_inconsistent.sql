-- Count strategy days whose net is not gross minus costs, with negative fees, spread or turnover, or a trade without a rebalance.
SELECT count(*) FROM strategy_returns
WHERE abs(net - (gross - fee - spread - funding)) > $tol
   OR fee < 0 OR spread < 0 OR turnover < 0
   OR (NOT rebalanced AND turnover <> 0)
   OR long_exposure < 0 OR short_exposure > 0;
