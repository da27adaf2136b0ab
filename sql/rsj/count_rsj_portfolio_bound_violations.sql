-- Count the rsj_portfolios_daily rows of [$start, $end) with turnover out of bounds, cost <> fee x turnover, net <> gross - cost or date_formed <> date - 1.
SELECT count(*) FROM rsj_portfolios_daily
WHERE date >= $start AND date < $end AND (
      turnover < 0
   OR turnover > CASE WHEN portfolio = 'LS' THEN 4 ELSE 2 END + 1e-9
   OR abs(cost - fee_bps * 1e-4 * turnover) > 1e-15
   OR abs(net - (gross - cost)) > 1e-15
   OR date_formed <> date - 1)
