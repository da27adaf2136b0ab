-- Select the winning configuration of each target of neural_beta_grid (lowest validation RMSE), for neural_betas.
SELECT market, hidden, learning_rate, activation, l2, epochs, n_seeds, random_state, early_stopping_fraction, inputs,
       val_rmse, test_rmse
FROM neural_beta_grid
WHERE is_best
ORDER BY market;
