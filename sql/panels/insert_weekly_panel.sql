-- Insert weekly_panel: per coin-week (Monday start) return by $return_rule and last-available-day / weekly aggregates for [$start, $end).
INSERT INTO weekly_panel BY NAME
WITH days AS (
    -- the window's days and the week before it (its last available close is the first week's base price)
    SELECT *, CAST(date_trunc('week', date) AS DATE) AS week_start
    FROM daily_panel
    WHERE date >= CAST($start AS DATE) - 7 AND date < CAST($end AS DATE)
),
first_seen AS (
    -- point in time: the first row up to the end of the window only
    SELECT symbol, min(date) AS first_date
    FROM daily_panel
    WHERE date < CAST($end AS DATE)
    GROUP BY symbol
),
weeks AS (
    SELECT
        symbol,
        week_start,
        CASE WHEN count(ret) = 7 THEN product(1 + ret) - 1 END AS compounded_ret,
        CAST(count(*) AS INTEGER) AS n_days,
        CAST(count(ret) AS INTEGER) AS n_returns,
        -- the last available day's values, NULLs included (max_by of a struct keeps a NULL market cap)
        max_by({'close': close, 'market_cap': market_cap, 'dollar_volume': dollar_volume}, date) AS last_day,
        max(date) AS last_date,
        max(close) AS max_price,
        avg(volume) AS avg_volume,
        avg(dollar_volume) AS avg_dollar_volume,
        stddev_samp(dollar_volume) AS std_dollar_volume,
        count(market_cap) AS n_market_cap,
        count(dollar_volume) AS n_dollar_volume
    FROM days
    GROUP BY symbol, week_start
)
SELECT
    w.symbol, w.week_start,
    CASE WHEN $return_rule = 'complete_week' THEN w.compounded_ret
         ELSE w.last_day.close / p.last_day.close - 1 END AS ret,
    w.n_days, w.n_returns,
    w.last_day.close AS close,
    w.last_day.market_cap AS market_cap,
    w.max_price, w.avg_volume, w.avg_dollar_volume, w.std_dollar_volume,
    -- weeks between the coin's first ISO week and this one (0 in the listing week)
    CAST((w.week_start - CAST(date_trunc('week', f.first_date) AS DATE)) // 7 AS INTEGER) AS age_weeks,
    CASE WHEN $return_rule = 'complete_week'
         THEN coalesce(w.last_day.market_cap >= 1e6 AND w.n_returns = 7 AND w.n_market_cap = 7
                       AND w.n_dollar_volume = 7, false)
         ELSE coalesce(w.last_day.market_cap >= 1e6 AND w.last_day.dollar_volume IS NOT NULL, false) END
        AS in_universe,
    w.last_date,
    p.last_day.close AS prev_close,
    CAST($return_rule AS VARCHAR) AS return_rule
FROM weeks AS w
JOIN first_seen AS f USING (symbol)
LEFT JOIN weeks AS p ON p.symbol = w.symbol AND p.week_start = w.week_start - 7
WHERE w.week_start >= CAST($start AS DATE);
