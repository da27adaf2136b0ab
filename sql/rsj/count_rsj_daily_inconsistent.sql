-- Count the rsj_daily rows of [$start, $end) violating RSJ in [-1, 1], RSJ NULL iff reason, RS+ + RS- = RV (slack $tol), stale iff too many zero returns.
SELECT count(*) FROM rsj_daily
WHERE date >= $start AND date < $end AND (
      (rsj IS NULL) <> (reason IS NOT NULL)
   OR abs(rsj) > 1 + $tol
   OR rv < 0 OR rs_pos < -$tol * rv OR rs_neg < -$tol * rv
   OR abs(rs_pos + rs_neg - rv) > $tol * greatest(rv, 1e-300)
   OR n_returns > n_bars
   OR n_zero > n_returns
   OR coalesce(reason = 'stale', false) <> coalesce(reason IS DISTINCT FROM 'too_few_bars'
                                                    AND reason IS DISTINCT FROM 'zero_rv'
                                                    AND n_zero > max_zero_share * n_returns, false))
