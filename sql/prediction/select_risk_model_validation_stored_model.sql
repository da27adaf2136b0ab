-- Select the stored factor_risk_model's betas, factors and total variances, which risk_model_validation's factor forecasts must reproduce.
SELECT week_start, symbol, beta_mkt, beta_size, beta_mom, beta_vol, beta_fund, beta_chain, factors, total_var, window_days FROM factor_risk_model
