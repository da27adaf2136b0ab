-- Count attribution days whose factor parts, alpha and residual do not add up to the net return.
SELECT count(*) FROM strategy_attribution
WHERE abs(net - (coalesce(mkt_part, 0) + coalesce(size_part, 0) + coalesce(mom_part, 0)
                 + coalesce(alpha, 0) + coalesce(residual, 0))) > $tol;
