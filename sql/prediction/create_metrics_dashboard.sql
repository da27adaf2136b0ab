-- Create metrics_dashboard: the chapter's headline metrics (factor R-squared, alphas, beta stability, IC, factor Sharpe, Lasso sparsity).
CREATE TABLE IF NOT EXISTS metrics_dashboard (
    section            VARCHAR NOT NULL,
    metric             VARCHAR NOT NULL,
    value              DOUBLE,
    detail             VARCHAR,
    construction       VARCHAR NOT NULL,
    prediction_scheme  VARCHAR NOT NULL
);
