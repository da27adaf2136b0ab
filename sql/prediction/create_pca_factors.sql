-- Create pca_factors: weekly series of the statistical (PCA) factors of the excess-return panel.
CREATE TABLE IF NOT EXISTS pca_factors (
    week_start  DATE NOT NULL,
    component   VARCHAR NOT NULL,   -- pc1, pc2, ...
    value       DOUBLE,             -- factor score (least squares on the observed coins' loadings)
    method      VARCHAR NOT NULL    -- em | pairwise
);
