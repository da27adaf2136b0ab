-- Count the pca_explained components with a negative explained ratio or a cumulative ratio above 1.
SELECT count(*) FROM pca_explained WHERE explained_ratio < 0 OR cumulative_ratio > 1 + 1e-12;
