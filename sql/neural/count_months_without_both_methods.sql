-- Count the rows of neural_betas in [$start, $end) and the months of that window without both a neural_mlp and a rolling_ols row.
SELECT (SELECT count(*) FROM neural_betas WHERE month_start >= $start AND month_start < $end) AS stored,
       (SELECT count(*) FROM generate_series($start::DATE, $end::DATE - INTERVAL 1 MONTH, INTERVAL 1 MONTH) g(m)
        WHERE (SELECT count(DISTINCT method) FROM neural_betas WHERE month_start = g.m::DATE) < 2) AS missing;
