-- Create factor_model_residual_tests: statsmodels residual tests of every coin's factor-model residuals.
CREATE TABLE IF NOT EXISTS factor_model_residual_tests (
    symbol           VARCHAR NOT NULL,
    n_obs            INTEGER NOT NULL,
    ljung_box        DOUBLE,             -- Q at `lags`
    ljung_box_p      DOUBLE,
    arch_lm          DOUBLE,             -- Engle LM, nlags = lags
    arch_lm_p        DOUBLE,
    breusch_pagan    DOUBLE,             -- LM against the factors
    breusch_pagan_p  DOUBLE,
    jarque_bera      DOUBLE,
    jarque_bera_p    DOUBLE,
    lags             INTEGER NOT NULL
);
