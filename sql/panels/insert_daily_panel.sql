-- Insert daily_panel: per coin-day close, returns, market cap, volumes, bar count, universe flag and bid-ask spread estimates for [$start, $end).
INSERT INTO daily_panel BY NAME
WITH bars AS (
    SELECT
        symbol,
        CAST(open_time AS DATE) AS date,
        max_by(close, open_time) AS close,          -- last 5-minute close of the UTC day
        sum(volume) AS volume,
        sum(coalesce(turnover, close * volume)) AS dollar_volume,
        count(*) AS n_bars
    FROM raw_klines_5m
    -- from the day before the window: the first day's return needs the previous close
    WHERE open_time >= CAST($start AS TIMESTAMP) - INTERVAL 1 DAY AND open_time < CAST($end AS TIMESTAMP)
    GROUP BY ALL
),
markets AS (
    SELECT symbol, date, price, market_cap, total_volume
    FROM raw_coin_markets
    WHERE date >= CAST($start AS DATE) - 1 AND date < CAST($end AS DATE)
),
joined AS (
    SELECT
        coalesce(b.symbol, m.symbol) AS symbol,
        coalesce(b.date, m.date) AS date,
        coalesce(b.close, m.price) AS close,
        CASE WHEN b.close IS NOT NULL THEN 'klines' ELSE 'markets' END AS close_source,
        m.market_cap,
        b.volume,
        coalesce(b.dollar_volume, m.total_volume) AS dollar_volume,
        CASE WHEN b.dollar_volume IS NOT NULL THEN 'klines' WHEN m.total_volume IS NOT NULL THEN 'markets' END
            AS volume_source,
        coalesce(b.n_bars, 0) AS n_bars
    FROM bars AS b
    FULL OUTER JOIN markets AS m ON b.symbol = m.symbol AND b.date = m.date
),
with_previous AS (
    SELECT *,
        lag(close) OVER w AS prev_close,
        lag(date) OVER w AS prev_date
    FROM joined
    WINDOW w AS (PARTITION BY symbol ORDER BY date)
),
returns AS (
    SELECT *,
        -- a return only from the calendar day before: never across a missing day
        CASE WHEN prev_date = date - 1 THEN close / prev_close - 1 END AS ret,
        CASE WHEN prev_date = date - 1 THEN ln(close / prev_close) END AS log_ret
    FROM with_previous
),
-- spreads: Corwin-Schultz (2012) and Abdi-Ranaldo (2017) over adjacent 5-minute bars of the coin and UTC day
-- (formulas and oracle: cryptofactor_assets/estimators/spreads.py, same operations in the same order); an estimate
-- needs $min_pairs pairs (spreads.MIN_SPREAD_PAIRS), else NULL; no bars that day: NULL and 0 pairs
spread_bars AS (
    -- the window's bars the estimators can take, in logs; stored bars are validated at ingest, a bar failing
    -- here is dropped (and so breaks its pairs)
    SELECT symbol, open_time, ln(high) AS log_high, ln(low) AS log_low, ln(close) AS log_close
    FROM raw_klines_5m
    WHERE open_time >= CAST($start AS TIMESTAMP) AND open_time < CAST($end AS TIMESTAMP)
      AND isfinite(high) AND isfinite(low) AND isfinite(close) AND low > 0 AND close > 0 AND high >= low
),
spread_next AS (
    -- each bar with the coin's next usable bar (one sort by coin and time; pairs never span midnight, below)
    SELECT *,
        lead({'open_time': open_time, 'log_high': log_high, 'log_low': log_low})
            OVER (PARTITION BY symbol ORDER BY open_time) AS next
    FROM spread_bars
),
spread_pairs AS (
    -- a pair only when the next bar opens exactly 5 minutes later on the same UTC day: a missing bar breaks it
    SELECT symbol, CAST(open_time AS DATE) AS date,
        log_high - log_low AS range_0,                                           -- ln(H_t / L_t)
        next.log_high - next.log_low AS range_1,                                 -- ln(H_t+1 / L_t+1)
        greatest(log_high, next.log_high) - least(log_low, next.log_low) AS range_01,
        log_close - (log_high + log_low) / 2 AS close_vs_mid_0,                  -- c_t - eta_t
        log_close - (next.log_high + next.log_low) / 2 AS close_vs_mid_1         -- c_t - eta_t+1
    FROM spread_next
    WHERE next.open_time = open_time + INTERVAL 5 MINUTE AND CAST(next.open_time AS DATE) = CAST(open_time AS DATE)
),
spread_terms AS (
    SELECT symbol, date,
        range_0 * range_0 + range_1 * range_1 AS beta,
        range_01 * range_01 AS gamma,
        4 * close_vs_mid_0 * close_vs_mid_1 AS ar_term
    FROM spread_pairs
),
spread_alphas AS (
    SELECT symbol, date, ar_term,
        (sqrt(2 * beta) - sqrt(beta)) / (3 - 2 * sqrt(2)) - sqrt(gamma / (3 - 2 * sqrt(2))) AS alpha
    FROM spread_terms
),
spreads AS (
    SELECT symbol, date,
        count(*) AS n_pairs,
        -- S = 2 (e^alpha - 1) / (1 + e^alpha); a negative pair estimate counts as 0 (Corwin and Schultz's practice)
        avg(greatest(2 * (exp(alpha) - 1) / (1 + exp(alpha)), 0)) AS cs_mean,
        avg(ar_term) AS ar_mean
    FROM spread_alphas
    GROUP BY ALL
)
SELECT
    symbol, date, close, close_source, ret, log_ret, market_cap, volume, dollar_volume, volume_source,
    CAST(n_bars AS INTEGER) AS n_bars,
    coalesce(market_cap >= 1e6 AND ret IS NOT NULL AND dollar_volume IS NOT NULL, false) AS in_universe,
    CASE WHEN n_pairs >= $min_pairs THEN cs_mean END AS spread_cs,
    CASE WHEN n_pairs >= $min_pairs THEN sqrt(greatest(ar_mean, 0)) END AS spread_ar,
    CAST(coalesce(n_pairs, 0) AS INTEGER) AS n_spread_pairs
FROM returns
LEFT JOIN spreads USING (symbol, date)
WHERE date >= CAST($start AS DATE) AND date < CAST($end AS DATE);
