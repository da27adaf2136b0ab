-- Select per factor beta of the stored rolling_betas the mean |beta / se| and the coin-days with it (the dashboard's rolling-regression rows).
SELECT beta, avg(abs(b / se)) AS mean_abs_t, count(*) AS n FROM (
    UNPIVOT (SELECT beta_mkt, beta_mkt_se, beta_size, beta_size_se, beta_mom, beta_mom_se, beta_vol, beta_vol_se,
                    beta_fund, beta_fund_se, beta_chain, beta_chain_se FROM rolling_betas)
    ON (beta_mkt, beta_mkt_se) AS beta_mkt, (beta_size, beta_size_se) AS beta_size,
       (beta_mom, beta_mom_se) AS beta_mom, (beta_vol, beta_vol_se) AS beta_vol,
       (beta_fund, beta_fund_se) AS beta_fund, (beta_chain, beta_chain_se) AS beta_chain
    INTO NAME beta VALUE b, se
) WHERE b IS NOT NULL AND se > 0 GROUP BY beta ORDER BY beta;
