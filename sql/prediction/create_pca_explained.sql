-- Create pca_explained: variance explained by each PCA component and its correlation with CMKT, CSMB, CMOM.
CREATE TABLE IF NOT EXISTS pca_explained (
    component         VARCHAR NOT NULL,
    eigenvalue        DOUBLE NOT NULL,    -- variance of the component (weekly, fraction^2)
    explained_ratio   DOUBLE NOT NULL,    -- eigenvalue / total variance
    cumulative_ratio  DOUBLE NOT NULL,
    corr_cmkt         DOUBLE,             -- Pearson correlation with CMKT over common weeks
    corr_csmb         DOUBLE,
    corr_cmom         DOUBLE,
    n_periods_corr    INTEGER NOT NULL,   -- weeks in the correlations
    method            VARCHAR NOT NULL,   -- em | pairwise
    n_coins           INTEGER NOT NULL,
    n_weeks           INTEGER NOT NULL,
    min_obs           INTEGER NOT NULL,   -- weeks a coin needs
    n_iter            INTEGER NOT NULL,   -- EM iterations
    converged         BOOLEAN NOT NULL
);
