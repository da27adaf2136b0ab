-- Select every stored Fama-MacBeth gamma (the premia average them over all weeks).
SELECT * FROM fama_macbeth_gammas ORDER BY week_start, spec;
