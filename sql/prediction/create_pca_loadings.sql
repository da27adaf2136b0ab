-- Create pca_loadings: loadings (unit-norm eigenvector entries) of each coin on each PCA component.
CREATE TABLE IF NOT EXISTS pca_loadings (
    symbol     VARCHAR NOT NULL,
    component  VARCHAR NOT NULL,
    loading    DOUBLE,
    method     VARCHAR NOT NULL
);
