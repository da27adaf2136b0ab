-- Select the mean per-week cross-sectional R² of factor_model_cs_r2.
SELECT avg(r2) FROM factor_model_cs_r2;
